// The capture shipper: a Fluent Bit sidecar that uploads request/response capture files, written by a model server
// on Kubernetes, to the lake's monitoring zone in SageMaker's data-capture layout, so DriftMonitor and
// PredictionHealthMonitor read them like ModelEndpoint's. Pure data and string rendering: no constructs here.

/**
 * AWS for Fluent Bit 3.2.1 (Fluent Bit 4.2.2, Amazon Linux 2023). Fluent Bit takes EKS Pod Identity credentials
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) since aws-for-fluent-bit 2.32.5.
 */
export const CAPTURE_SHIPPER_IMAGE = 'public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1';
/** Where the model server writes capture files (a shared emptyDir). */
export const CAPTURE_DIR = '/capture';
/** The files the sidecar tails. */
export const CAPTURE_FILE_GLOB = `${CAPTURE_DIR}/*.jsonl`;
/** Where the Fluent Bit configuration (ConfigMap) is mounted. */
export const CAPTURE_SHIPPER_CONFIG_DIR = '/fluent-bit/etc/capture';
/** Name of the configuration file inside {@link CAPTURE_SHIPPER_CONFIG_DIR}. */
export const CAPTURE_SHIPPER_CONFIG_FILE = 'fluent-bit.conf';
/** Fluent Bit's state (tail offsets, S3 upload buffer): an emptyDir, so it survives sidecar restarts. */
export const CAPTURE_SHIPPER_STATE_DIR = '/fluent-bit/state';
/** Port of Fluent Bit's HTTP server (health check). */
export const CAPTURE_SHIPPER_HTTP_PORT = 2020;
/** Health route of Fluent Bit's HTTP server (`Health_Check On`). */
export const CAPTURE_SHIPPER_HEALTH_PATH = '/api/v1/health';
/** Seconds Fluent Bit waits on SIGTERM to flush buffered capture to S3. */
export const CAPTURE_SHIPPER_GRACE_SECONDS = 30;

/** What {@link renderCaptureShipperConfig} needs. */
export interface CaptureShipperConfigOptions {
  /** Name of the monitoring bucket (may be a CDK token). */
  readonly bucket: string;
  /** AWS Region of the bucket (may be a CDK token). */
  readonly region: string;
  /** Key prefix of the server's capture, `capture/<server>/` (no leading `/`, trailing `/`). */
  readonly captureKeyPrefix: string;
  /** The variant segment, e.g. `AllTraffic`. */
  readonly variantName: string;
  /** Seconds after which Fluent Bit completes an upload (a new S3 object) even if it is small. */
  readonly uploadTimeoutSeconds: number;
  /** Largest capture object, MiB (Fluent Bit's minimum is 1). */
  readonly maxFileSizeMiB: number;
}

/**
 * The S3 key format of the shipper: `/capture/<server>/<variant>/%Y/%m/%d/%H/%M-%S-000-$UUID.jsonl`.
 *
 * Fluent Bit formats keys with `strftime` on the (whole-second) time of the first record in the object, plus
 * `$UUID` (and `$TAG`, `$INDEX`); there is no millisecond token (`%L` would be written literally). The literal
 * `000` keeps SageMaker's `<mm>-<ss>-<mmm>-<id>.jsonl` file-name shape, which `captureTime()` of the capture check
 * parses, at second resolution; `$UUID` keeps keys of concurrent pods apart.
 */
export function captureKeyFormat(captureKeyPrefix: string, variantName: string): string {
  return `/${captureKeyPrefix}${variantName}/%Y/%m/%d/%H/%M-%S-000-$UUID.jsonl`;
}

/**
 * Renders the Fluent Bit classic-mode configuration of the shipper.
 *
 * - `tail` reads `/capture/*.jsonl` from the head (offsets kept in a DB on the state emptyDir), one record per line,
 *   without parsing it; lines longer than 1 MiB are skipped (and logged) rather than split.
 * - `s3` writes objects of at most `maxFileSizeMiB` or `uploadTimeoutSeconds` of capture with PutObject under
 *   {@link captureKeyFormat}; `log_key log` writes the raw line (byte for byte: the capture record) and a newline,
 *   `json_date_key false` keeps Fluent Bit from adding a date field. The bucket's default encryption (SSE-KMS with
 *   the lake key) encrypts every object; the S3 output has no per-request SSE option.
 */
export function renderCaptureShipperConfig(options: CaptureShipperConfigOptions): string {
  const service = [
    '[SERVICE]',
    '    Flush                     5',
    `    Grace                     ${CAPTURE_SHIPPER_GRACE_SECONDS}`,
    '    Daemon                    Off',
    '    Log_Level                 info',
    '    HTTP_Server               On',
    '    HTTP_Listen               0.0.0.0',
    `    HTTP_Port                 ${CAPTURE_SHIPPER_HTTP_PORT}`,
    '    Health_Check              On',
    `    storage.path              ${CAPTURE_SHIPPER_STATE_DIR}/storage`,
  ];
  const input = [
    '[INPUT]',
    '    Name                      tail',
    '    Tag                       capture',
    `    Path                      ${CAPTURE_FILE_GLOB}`,
    `    DB                        ${CAPTURE_SHIPPER_STATE_DIR}/capture-tail.db`,
    '    Read_from_Head            On',
    '    Refresh_Interval          5',
    '    Rotate_Wait               30',
    '    Buffer_Chunk_Size         64KB',
    '    Buffer_Max_Size           1MB',
    '    Skip_Long_Lines           On',
    '    Mem_Buf_Limit             32MB',
    '    storage.type              filesystem',
  ];
  const output = [
    '[OUTPUT]',
    '    Name                      s3',
    '    Match                     capture',
    `    bucket                    ${options.bucket}`,
    `    region                    ${options.region}`,
    `    s3_key_format             ${captureKeyFormat(options.captureKeyPrefix, options.variantName)}`,
    `    total_file_size           ${options.maxFileSizeMiB}M`,
    `    upload_timeout            ${options.uploadTimeoutSeconds}s`,
    '    use_put_object            On',
    `    store_dir                 ${CAPTURE_SHIPPER_STATE_DIR}/s3`,
    '    log_key                   log',
    '    json_date_key             false',
    '    content_type              application/jsonl',
    '    retry_limit               10',
  ];
  return [...service, '', ...input, '', ...output, ''].join('\n');
}
