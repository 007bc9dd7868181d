import Logging
import S3

/// How deep a pair is checked.
public enum CheckDepth: String, Sendable, CaseIterable {
  case shallow, deep
}

/// A named endpoint with its credentials (read from the environment at load time): decoded once,
/// used as is by the coordinator's clients and sent as is to the workers (over their stdin pipe).
public struct EndpointConfig: Sendable, Codable {
  public var name: String
  /// The URL as the user wrote it (for messages and checkpoint fingerprints).
  public var url: String
  /// The URL parsed, with its region and addressing style.
  public var endpoint: S3Endpoint
  public var credentials: Credentials
  /// Where the credentials came from (for the log; never the values).
  public var credentialSource: String
  /// Requests per second to this endpoint, for the whole run (all processes together).
  public var maxRequestsPerSecond: Double?
  public var tls: TLSSettings
  /// The environment variables the credentials were read from (`*_env`): withheld from the workers.
  public var credentialVariables: [String] = []
  /// Whether its `x-amz-tagging-count` may stand in for GetObjectTagging (`tagging_count_header`).
  public var taggingCountHeader = TaggingCountMode.auto

  public var region: String { endpoint.region }
  public var addressing: AddressingStyle { endpoint.addressing }

  public init(
    name: String, url: String, endpoint: S3Endpoint, credentials: Credentials, credentialSource: String = "",
    maxRequestsPerSecond: Double? = nil, tls: TLSSettings = TLSSettings()
  ) {
    self.name = name
    self.url = url
    self.endpoint = endpoint
    self.credentials = credentials
    self.credentialSource = credentialSource
    self.maxRequestsPerSecond = maxRequestsPerSecond
    self.tls = tls
  }
}

/// One side of a pair.
public struct PairSide: Sendable {
  public var endpoint: String
  public var bucket: String
  public var prefix: String
  /// Read this side's objects from an S3 Inventory of `bucket` instead of listing it (`inventory`).
  public var inventory: InventoryLocation?
  /// The endpoint of the inventory's bucket (default: `endpoint`).
  public var inventoryEndpoint: String?

  public init(endpoint: String, bucket: String, prefix: String = "") {
    self.endpoint = endpoint
    self.bucket = bucket
    self.prefix = prefix
  }
}

/// Tuning shared by the whole run: the defaults. Names, bounds and help are in `TuningSetting.all`.
public struct Tuning: Sendable, Equatable {
  public var numProcesses = 10
  public var numConnections = 10
  public var maxQueueSize = 100
  public var numObjectsReport = 1000
  public var listPageSize = 1000
  /// Key ranges of one side listed at once (1: one stream per side); `adaptiveRangeListers` (`auto`):
  /// one stream, widened to `adaptiveMaxListers` ranges when the first pages wait on the network.
  public var rangeListers = Tuning.adaptiveRangeListers
  public static let adaptiveRangeListers = 0
  public static let adaptiveMaxListers = 4
  public var maxAttempts = 8
  public var parallelPairs = 1
  /// Seconds before one request is abandoned (and retried).
  public var requestTimeout: Double = ClientOptions.defaultRequestTimeout
  /// Bytes a run may read to compare content (`verify: content`); 0: no cap.
  public var maxContentBytes = 0
  /// Every this many deep-checked keys, tags are fetched although the HEADs say there are none.
  public var taggingCountSample = 1000
  public init() {}
}

/// What to do with destination versions the source's history lacks (`extra_destination_versions`): a
/// backup that keeps versions the source has since expired may be fine.
public enum ExtraVersions: String, Sendable, CaseIterable, Codable {
  case allow, report
}

/// One bucket pair to compare.
public struct PairConfig: Sendable {
  public var name: String
  public var source: PairSide
  public var destination: PairSide
  public var check: CheckDepth
  public var compareObjectTags: Bool
  /// Overrides the report path (`--output_file` of a single-pair run).
  public var reportPath: String?
  /// Two empty listings are an accepted outcome (`allow_empty`), not an error: without it a typo in a
  /// prefix or the wrong bucket pair would "pass" having compared nothing.
  public var allowEmpty = false
  /// How far content is proven (`verify`); nil: the check depth's default (`VerifyLevel.default`).
  public var verify: VerifyLevel?
  /// List identical keys in the report too, with how each was verified (`report_matches`).
  public var reportMatches = false
  /// Which keys `verify: content` reads (`content_scope`).
  public var contentScope = ContentScope.unverified
  /// The verification level this pair runs at.
  public var level: VerifyLevel { verify ?? .default(deep: check == .deep) }
  /// Objects changed after this are not judged (`as_of`).
  public var asOf: AsOf?
  /// List keys that were not judged (changed after the cutoff) in the report (`report_skipped`).
  public var reportSkipped = false
  /// Deep-check fields left out (`ignore`).
  public var ignore = IgnoredFields()
  /// Compare version histories (`versions`), not only the latest versions.
  public var versions = false
  /// With `versions`: delete markers take part (`compare_delete_markers`).
  public var compareDeleteMarkers = true
  /// With `versions`: whether destination versions the source lacks are reported.
  public var extraDestinationVersions = ExtraVersions.report
  /// Include/exclude rules in order (`filters`, or `include`/`exclude`); checked by `KeyFilter.make`.
  public var filterRules: [KeyFilter.Rule] = []
  /// The filter of `filterRules` (validated when the manifest or the flags were read).
  public var filter: KeyFilter { (try? KeyFilter.make(filterRules).get()) ?? .none }

  public init(
    name: String, source: PairSide, destination: PairSide, check: CheckDepth, compareObjectTags: Bool,
    reportPath: String? = nil
  ) {
    self.name = name
    self.source = source
    self.destination = destination
    self.check = check
    self.compareObjectTags = compareObjectTags
    self.reportPath = reportPath
  }
}

/// Where results go.
public struct OutputConfig: Sendable {
  public var dir: String
  public var format: ReportFormat
  /// nil: no summary file (single-pair runs without `--summary`).
  public var summary: String?
  /// A JUnit XML file to write (one test case per pair).
  public var junit: String?
  /// A Prometheus textfile to write (node_exporter's textfile collector).
  public var metricsFile: String?
  /// A self-contained HTML sign-off page to write (`output.html`, `--html`).
  public var html: String?

  public init(dir: String, format: ReportFormat, summary: String?, junit: String? = nil, metricsFile: String? = nil) {
    self.dir = dir
    self.format = format
    self.summary = summary
    self.junit = junit
    self.metricsFile = metricsFile
  }
}

/// A validated manifest: every default applied, every reference resolved.
public struct Manifest: Sendable {
  public static let supportedVersion = 1
  public var endpoints: [String: EndpointConfig]
  public var tuning: Tuning
  public var output: OutputConfig
  public var pairs: [PairConfig]
  public var logLevel: LogLevel

  public init(
    endpoints: [String: EndpointConfig], tuning: Tuning, output: OutputConfig, pairs: [PairConfig],
    logLevel: LogLevel = .INFO
  ) {
    self.endpoints = endpoints
    self.tuning = tuning
    self.output = output
    self.pairs = pairs
    self.logLevel = logLevel
  }
}

/// One problem in a manifest: `FILE:LINE:COLUMN: error: path.to.field: what is wrong`.
public struct ManifestDiagnostic: Sendable, CustomStringConvertible {
  public var file: String
  public var mark: SourceMark?
  public var path: String
  public var message: String
  public var description: String {
    let place = mark.map { "\(file):\($0.line):\($0.column)" } ?? file
    return path.isEmpty ? "\(place): error: \(message)" : "\(place): error: \(path): \(message)"
  }
}

/// Every problem found in a manifest, reported together.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
  public var diagnostics: [ManifestDiagnostic]
  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension TLSSettings {
  /// The settings of an endpoint that names no CA bundle: `AWS_CA_BUNDLE` when set (as the AWS CLI
  /// reads it), else the system's CAs; verification on.
  public static func fromEnvironment(_ environment: [String: String]) -> TLSSettings {
    TLSSettings(caBundle: environment["AWS_CA_BUNDLE"].flatMap { $0.isEmpty ? nil : $0 })
  }
}

/// Log verbosity: the `--log_level` values of the tool we replace. Travels to the workers as is.
public enum LogLevel: String, CaseIterable, Sendable, Codable {
  case DEBUG, INFO, WARN, ERROR

  /// The swift-log level.
  public var level: Logger.Level {
    switch self {
    case .DEBUG: return .debug
    case .INFO: return .info
    case .WARN: return .warning
    case .ERROR: return .error
    }
  }
}
