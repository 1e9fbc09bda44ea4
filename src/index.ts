export * from './core/context';
export * from './data/data-lake';
export * from './data/feature';
export * from './data/feature-store';
