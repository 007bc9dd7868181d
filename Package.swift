// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "bucket-delta",
  products: [
    .executable(name: "bucket-delta", targets: ["bucket-delta"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
  ],
  targets: [
    // System libraries: a module map and one shim header each.
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(
      name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
    // gunzip of S3 Inventory CSV files.
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    // Typed wrappers for curl's variadic setopt/getinfo, which Swift cannot call.
    .target(name: "CCurlShims", dependencies: ["CCurl"]),

    // Read-only S3 client: SigV4, XML, retries, libcurl transport.
    .target(
      name: "S3",
      dependencies: [
        "CCurl", "CCurlShims", "COpenSSL",
        .product(name: "Logging", package: "swift-log"),
      ]),
    // The comparison engine: listings, merge-join, checks, reports.
    .target(
      name: "BucketDelta",
      dependencies: [
        "S3", "CYAML", "CZlib",
        .product(name: "Logging", package: "swift-log"),
      ]),
    // Command line: flags, exit codes, log output.
    .target(
      name: "BucketDeltaCLI",
      dependencies: [
        "BucketDelta", "S3",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .executableTarget(name: "bucket-delta", dependencies: ["BucketDeltaCLI"]),

    .testTarget(name: "S3Tests", dependencies: ["S3"]),
    .testTarget(name: "BucketDeltaTests", dependencies: ["BucketDelta", "S3"]),
    .testTarget(
      name: "BucketDeltaCLITests", dependencies: ["BucketDeltaCLI", "BucketDelta", "S3"]),
  ]
)
