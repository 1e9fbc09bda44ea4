import { PredictionHealthAnalyzer } from '../../../src/monitoring/health/prediction-health';

describe('PredictionHealthAnalyzer', () => {
  test('counts NaN, ±Infinity and values that are not numbers; rates use the right denominators', () => {
    const h = new PredictionHealthAnalyzer({ minScore: 0, maxScore: 1 });
    h.addAll([0.1, 0.9, NaN, Infinity, -Infinity, 1.5, -0.5, 0.6]);
    h.add('x' as unknown as number);
    h.addMalformed();
    const r = h.result();
    expect(r).toMatchObject({ predictions: 9, nan: 2, infinite: 2, malformed: 1, outOfRange: 2, min: -0.5, max: 1.5 });
    expect(r.nonFiniteRate).toBeCloseTo(4 / 9, 12);
    expect(r.outOfRangeRate).toBeCloseTo(2 / 5, 12);
  });

  test('mean and population standard deviation match the two-pass formulas', () => {
    const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3 + 1e6); // large offset: Welford stays exact
    const h = new PredictionHealthAnalyzer();
    h.addAll(values);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    const r = h.result();
    expect(r.mean).toBeCloseTo(mean, 6);
    expect(r.stdDev).toBeCloseTo(sd, 6);
  });

  test('constant outputs and a single predicted class are flagged only from minPredictions on', () => {
    const few = new PredictionHealthAnalyzer({ minPredictions: 10 });
    few.addAll(Array(9).fill(0.3));
    expect(few.result()).toMatchObject({ constant: false, classCollapsed: false, topClassShare: 1, positiveShare: 0 });
    few.add(0.3);
    expect(few.result()).toMatchObject({ constant: true, classCollapsed: true });

    const varied = new PredictionHealthAnalyzer({ minPredictions: 10 });
    varied.addAll(Array.from({ length: 100 }, (_, i) => 0.6 + i / 1000)); // all positive, not constant
    expect(varied.result()).toMatchObject({ constant: false, classCollapsed: true, topClassShare: 1 });

    const healthy = new PredictionHealthAnalyzer({ minPredictions: 10, classThreshold: 0.5 });
    healthy.addAll(Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 0.9 : 0.1)));
    expect(healthy.result()).toMatchObject({ constant: false, classCollapsed: false, positiveShare: 0.25, topClassShare: 0.75 });
  });

  test('no predictions: rates 0, statistics null, nothing flagged', () => {
    expect(new PredictionHealthAnalyzer().result()).toMatchObject({
      predictions: 0, nonFiniteRate: 0, outOfRangeRate: 0, mean: null, stdDev: null, constant: false, classCollapsed: false, topClassShare: null,
    });
  });

  test('invalid options are refused, all problems at once', () => {
    expect(() => new PredictionHealthAnalyzer({ minScore: 2, maxScore: 1, classThreshold: NaN, minPredictions: 1, constantTolerance: -1 })).toThrow(
      'Invalid prediction health options: minScore must not exceed maxScore, got 2 and 1; classThreshold must be a finite number, got NaN; ' +
      'minPredictions must be an integer >= 2, got 1; constantTolerance must be a non-negative number, got -1');
  });
});
