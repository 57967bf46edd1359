import type { TextBuffer } from './text-buffer.js';

/**
 * A stretch of the /metrics page. A stretch with an owner is the same bytes for as long as its
 * version stays, so whoever compresses the page may reuse what it made of it at an earlier scrape;
 * one without an owner changes at every scrape.
 */
export interface PageSegment {
  readonly views: readonly Buffer[];
  readonly length: number;
  readonly identity?: SegmentIdentity;
}

export interface SegmentIdentity {
  /** The object whose bytes these are (a family's slab, the targets' family). */
  readonly owner: object;
  /** Which of the owner's stretches. */
  readonly index: number;
  /** Moves whenever the stretch's bytes may have. */
  readonly version: number;
}

/** The segments' views in page order, as one list. */
export function segmentViews(segments: readonly PageSegment[]): Buffer[] {
  const views: Buffer[] = [];
  for (const segment of segments) for (const view of segment.views) views.push(view);
  return views;
}

export function segmentsLength(segments: readonly PageSegment[]): number {
  let length = 0;
  for (const segment of segments) length += segment.length;
  return length;
}

/** Copies the segments' bytes to the end of `out`, room reserved once. */
export function writeSegments(out: TextBuffer, segments: readonly PageSegment[]): void {
  out.reserve(segmentsLength(segments));
  for (const segment of segments) for (const view of segment.views) out.writeBytes(view, 0, view.length);
}
