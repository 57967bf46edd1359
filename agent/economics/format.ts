/** Figures as the assessment and plan reasons quote them. */

export function usd(x: number): string {
  return `${x < 0 ? '-' : ''}$${Math.abs(x).toFixed(2)}`;
}

export function perKwh(x: number): string {
  return `${x < 0 ? '-' : ''}$${Math.abs(x).toFixed(3)}/kWh`;
}

export function jPerTh(x: number): string {
  return `${x.toFixed(1)} J/TH`;
}

export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}
