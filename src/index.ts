export * from './core/context';
export * from './core/gpu-instance-type';
export * from './data/data-lake';
export * from './data/feature';
export * from './data/feature-store';
export * from './registry/model-registry';
