/** Limits of work per request, from the configuration (MESSAGE_MAX_BYTES, PAGE_MAX_BYTES). */
export interface ServiceLimits {
  /** Largest message: its content and metadata serialized as JSON. */
  messageMaxBytes: number;
  /** A page of a listing ends early (hasMore: true) once its items would serialize to more. */
  pageMaxBytes: number;
}

/** The configuration's defaults, for code that builds services without one (tests, tools). */
export const DEFAULT_SERVICE_LIMITS: ServiceLimits = { messageMaxBytes: 256 * 1024, pageMaxBytes: 4 * 1024 * 1024 };
