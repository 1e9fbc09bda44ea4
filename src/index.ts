export * from './core/context';
export * from './data/data-lake';
