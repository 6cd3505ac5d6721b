const COLOURS = ['#2563eb', '#16a34a', '#d97706', '#9333ea'];

/** The charts' series colours, in order. */
export const colour = (i: number): string => COLOURS[i % COLOURS.length]!;
