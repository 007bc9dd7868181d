import BucketDelta
import Foundation
import S3

/// Every problem with the flags, reported together.
struct ValidationProblems: Error, CustomStringConvertible {
  var problems: [String]
  var description: String { problems.joined(separator: "; ") }
}

/// One side of a single-pair run, validated: the endpoint as a manifest would give it.
struct SideConfig {
  var bucket: String
  var endpoint: EndpointConfig
  var prefix: String
}

/// The flags of a single-pair run, validated.
struct SinglePairConfig {
  var source: SideConfig
  var destination: SideConfig
  var outputFile: String
  var format: ReportFormat
  var tuning: Tuning
  var deep: Bool
  var compareTags: Bool
  var logLevel: LogLevel
  var summary: String?
  var resume: Bool
  /// A secret came from a flag (visible to other users in the process list).
  var secretsOnCommandLine: Bool
}

extension CompareCommand {
  /// Checks every flag and collects all problems before any request is sent.
  func validated(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SinglePairConfig {
    var problems: [String] = []

    func side(
      _ name: String, bucket: String?, endpoint: String?, access: String?, secret: String?, profile: String?,
      region: String,
      prefix: String, addressing: AddressingStyle
    ) -> SideConfig? {
      var ok = true
      let b = bucket?.trimmingCharacters(in: .whitespaces) ?? ""
      if b.isEmpty {
        problems.append("--\(name)_bucket_name is required")
        ok = false
      }
      var ep: S3Endpoint?
      if let endpoint, !endpoint.isEmpty {
        do {
          ep = try S3Endpoint(url: endpoint, region: region, addressing: addressing)
        } catch {
          problems.append("--\(name)_endpoint_url: \(error.description)")
          ok = false
        }
      } else {
        problems.append("--\(name)_endpoint_url is required")
        ok = false
      }
      var credentials: Credentials?
      var source = ""
      if access != nil || secret != nil {
        if let access, !access.isEmpty, let secret, !secret.isEmpty {
          credentials = Credentials(accessKeyID: access, secretAccessKey: secret)
          source = "--\(name)_access_key/--\(name)_secret_key"
          secretFlagsUsed = true
        } else {
          problems.append("--\(name)_access_key and --\(name)_secret_key go together: pass both")
        }
      } else {
        switch CredentialChain(environment: environment).resolve(.init(profile: profile)) {
        case .success(let r):
          credentials = r.credentials
          source = r.source
        case .failure(let e):
          problems.append(
            "credentials for the \(name): \(e.description) (or pass --\(name)_profile, or --\(name)_access_key and --\(name)_secret_key)"
          )
        }
      }
      guard ok, let ep, let credentials else { return nil }
      var config = EndpointConfig(
        name: name, url: endpoint!, endpoint: ep, credentials: credentials, credentialSource: source,
        tls: .fromEnvironment(environment))
      config.taggingCountHeader = name == "source" ? sourceTaggingCountHeader : destinationTaggingCountHeader
      return SideConfig(bucket: b, endpoint: config, prefix: prefix)
    }

    var secretFlagsUsed = false
    let src = side(
      "source", bucket: sourceBucket, endpoint: sourceEndpoint, access: sourceAccessKey, secret: sourceSecretKey,
      profile: sourceProfile, region: sourceRegion, prefix: sourcePrefix,
      addressing: sourceAddressingStyle ?? addressingStyle)
    let dst = side(
      "destination", bucket: destinationBucket, endpoint: destinationEndpoint, access: destinationAccessKey,
      secret: destinationSecretKey, profile: destinationProfile, region: destinationRegion, prefix: destinationPrefix,
      addressing: destinationAddressingStyle ?? addressingStyle)

    let output = outputFile?.trimmingCharacters(in: .whitespaces) ?? ""
    if output.isEmpty {
      problems.append("--output_file is required")
    } else if output == ReportFile.standardOutput {
      if resume {
        problems.append(
          "--resume needs a report file: a report written to standard output (--output_file -) cannot be continued")
      }
    } else {
      let dir = URL(fileURLWithPath: output).deletingLastPathComponent().path
      var isDir: ObjCBool = false
      if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
        problems.append("directory of --output_file does not exist: \(dir)")
      }
    }
    var tuning = Tuning()
    problems += self.tuning.apply(to: &tuning)
    guard problems.isEmpty, let src, let dst else { throw ValidationProblems(problems: problems) }
    return SinglePairConfig(
      source: src, destination: dst, outputFile: output, format: outputFormat,
      tuning: tuning, deep: !shallowCheck.value, compareTags: compareObjectTags.value,
      logLevel: logLevel, summary: summary,
      resume: resume, secretsOnCommandLine: secretFlagsUsed)
  }
}
