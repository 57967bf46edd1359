import { ACTIVITIES, RECOMMENDATIONS, SCENARIOS, type DeviceAssessment } from '../../agent/economics/types.js';
import type { DeviceFamily, DeviceView } from './family.js';
import { formatValue } from './text-format.js';

/**
 * Per-device economics families, read from the assessment the economics part attached to the view;
 * a device without one (economics off, or not assessed yet) has none of these series.
 */

/**
 * Money to a hundredth of a cent and ratios to four places: finer digits mean nothing here and only
 * lengthen every scrape.
 */
/**
 * The assessment a device's series come from. PDUs and meters get none: their watts are the load of
 * the devices behind them, so a cost per day on them would count that load twice in any sum.
 */
function assessmentOf(view: DeviceView): DeviceAssessment | undefined {
  const assessment = view.economics?.assessment;
  return assessment === undefined || assessment.kind === 'pdu' || assessment.kind === 'sensor' ? undefined : assessment;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function assessed(name: string, help: string, pick: (a: DeviceAssessment) => number | undefined): DeviceFamily {
  return {
    name,
    type: 'gauge',
    help,
    input: 'economics',
    lines(view: DeviceView) {
      const assessment = assessmentOf(view);
      const value = assessment === undefined ? undefined : pick(assessment);
      return value === undefined ? '' : `${name}{${view.labels}} ${formatValue(round4(value))}\n`;
    },
  };
}

function perActivity(name: string, help: string, pick: (a: DeviceAssessment) => Partial<Record<string, number>>): DeviceFamily {
  return {
    name,
    type: 'gauge',
    help,
    input: 'economics',
    lines(view: DeviceView) {
      const assessment = assessmentOf(view);
      if (assessment === undefined) return '';
      const byActivity = pick(assessment);
      const labels = view.labels;
      let out = '';
      for (const activity of ACTIVITIES) {
        const value = byActivity[activity];
        if (value !== undefined) out += `${name}{${labels},activity="${activity}"} ${formatValue(round4(value))}\n`;
      }
      return out;
    },
  };
}

export const ECONOMICS_FAMILIES: readonly DeviceFamily[] = [
  perActivity(
    'potencia_device_revenue_usd_per_day',
    'Expected revenue per day in USD, by activity the device can do (mining: hashprice × TH/s; leasing: rate × 24 × occupancy × (1 − platform fee)).',
    (a) => a.revenue_usd_per_day,
  ),
  assessed(
    'potencia_device_power_cost_usd_per_day',
    "Cost per day in USD of the power the device draws now at the current power price; a GPU's is of its rated draw plus its share of its server's overhead.",
    (a) => a.power_cost_usd_per_day,
  ),
  perActivity('potencia_device_margin_usd_per_day', 'Revenue minus power cost per day in USD, by activity.', (a) => a.margin_usd_per_day),
  assessed(
    'potencia_device_break_even_usd_per_kwh',
    "Power price in USD per kWh at which the device's best activity stops paying (its margin is zero).",
    (a) => a.break_even_usd_per_kwh,
  ),
  assessed(
    'potencia_device_efficiency_drift_ratio',
    "Efficiency (J/TH) relative to the model's nominal, minus 1: 0.25 is 25% worse than spec, negative is better; only on measured power.",
    (a) => a.efficiency_drift_ratio,
  ),
  {
    name: 'potencia_device_recommendation',
    type: 'gauge',
    input: 'economics',
    help: 'Recommended action as a state set: one series per action (mine, lease, curtail, replace, repair), 1 for the chosen one; absent when the device cannot be judged.',
    lines({ economics, labels }) {
      const chosen = economics?.assessment.recommendation;
      if (chosen === undefined) return '';
      let out = '';
      for (const action of RECOMMENDATIONS) out += `potencia_device_recommendation{${labels},action="${action}"} ${action === chosen ? 1 : 0}\n`;
      return out;
    },
  },
  {
    name: 'potencia_device_planned_running',
    type: 'gauge',
    input: 'economics',
    help: 'Site plan under the power cap: 1 when the device is planned to run (mining or leasing), 0 when it is planned curtailed; absent when it cannot be judged.',
    lines({ economics, labels }) {
      const activity = economics?.planned?.activity;
      if (activity === undefined || activity === 'unassessed') return '';
      return `potencia_device_planned_running{${labels}} ${activity === 'curtailed' ? 0 : 1}\n`;
    },
  },
  {
    name: 'potencia_device_forward_margin_usd',
    type: 'gauge',
    input: 'economics',
    help: 'Margin in USD the device would make at its planned activity over the forecast horizon (economics.forecast), per BTC price scenario (p10, p50, p90), with difficulty growth and halvings.',
    lines({ economics, labels }) {
      const forward = economics?.forward;
      if (forward === undefined) return '';
      let out = '';
      for (const scenario of SCENARIOS) out += `potencia_device_forward_margin_usd{${labels},scenario="${scenario}"} ${formatValue(round4(forward.margin_usd[scenario]))}\n`;
      return out;
    },
  },
  {
    name: 'potencia_device_forward_break_even_btc_price_usd',
    type: 'gauge',
    input: 'economics',
    help: 'BTC price in USD at which mining with the device nets zero over the forecast horizon; absent for leasing.',
    lines({ economics, labels }) {
      const price = economics?.forward?.break_even_btc_usd;
      return price === undefined ? '' : `potencia_device_forward_break_even_btc_price_usd{${labels}} ${formatValue(round4(price))}\n`;
    },
  },
];
