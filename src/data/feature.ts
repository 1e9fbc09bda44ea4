/**
 * The value type of a feature.
 */
export enum FeatureType {
  /** `String`: text, also timestamps in ISO-8601. */
  STRING = 'String',
  /** `Integral`: 64-bit integers. */
  INTEGRAL = 'Integral',
  /** `Fractional`: 64-bit floating point numbers, also Unix timestamps in seconds. */
  FRACTIONAL = 'Fractional',
}

/**
 * The collection kind of a feature whose value holds several elements.
 *
 * Collection features are only supported by feature groups whose online store uses the
 * `InMemory` storage type.
 */
export enum FeatureCollectionType {
  /** `List`: ordered elements, duplicates allowed. */
  LIST = 'List',
  /** `Set`: unique elements. */
  SET = 'Set',
  /** `Vector`: a fixed number of fractional elements (embeddings). */
  VECTOR = 'Vector',
}

/**
 * One feature of a feature group: a name, a type and optionally a collection kind.
 *
 * @example
 * Feature.string('transaction_id');
 * Feature.fractional('amount');
 * Feature.vector('merchant_embedding', 128);
 */
export class Feature {
  /** A `String` feature. */
  public static string(name: string): Feature {
    return new Feature(name, FeatureType.STRING);
  }

  /** An `Integral` (64-bit integer) feature. */
  public static integral(name: string): Feature {
    return new Feature(name, FeatureType.INTEGRAL);
  }

  /** A `Fractional` (64-bit floating point) feature. */
  public static fractional(name: string): Feature {
    return new Feature(name, FeatureType.FRACTIONAL);
  }

  /** A list of values of `type` (InMemory online store only). */
  public static list(name: string, type: FeatureType): Feature {
    return new Feature(name, type, FeatureCollectionType.LIST);
  }

  /** A set of unique values of `type` (InMemory online store only). */
  public static set(name: string, type: FeatureType): Feature {
    return new Feature(name, type, FeatureCollectionType.SET);
  }

  /**
   * A vector of `dimension` fractional values, e.g. an embedding (InMemory online store only).
   *
   * @param dimension number of elements, 1 to 8192
   */
  public static vector(name: string, dimension: number): Feature {
    return new Feature(name, FeatureType.FRACTIONAL, FeatureCollectionType.VECTOR, dimension);
  }

  /** The feature name. */
  public readonly name: string;
  /** The value type (of each element, for collections). */
  public readonly type: FeatureType;
  /**
   * The collection kind.
   * @default - a single value
   */
  public readonly collectionType?: FeatureCollectionType;
  /**
   * Number of elements of a vector feature.
   * @default - not a vector
   */
  public readonly vectorDimension?: number;

  private constructor(name: string, type: FeatureType, collectionType?: FeatureCollectionType, vectorDimension?: number) {
    this.name = name;
    this.type = type;
    this.collectionType = collectionType;
    this.vectorDimension = vectorDimension;
  }
}
