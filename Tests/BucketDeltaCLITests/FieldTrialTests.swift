import Foundation
import Testing

/// Runs a Python snippet with boto3 against `url` as the admin of the test servers; `args` follow the URL
/// in sys.argv (the snippet gets `c`, the client, and `json`).
func boto3Admin(_ servers: TestServers, url: String, _ code: String, _ args: [String]) throws {
  var env = ProcessInfo.processInfo.environment
  env["BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE"] = "true"
  let prelude =
    "import boto3, json, sys; c = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1'); a = sys.argv[4:]\n"
  let r = try runProcess(pythonPath(), ["-c", prelude + code, url, servers.accessKey, servers.secretKey] + args, environment: env)
  guard r.status == 0 else { throw HarnessError(description: "boto3 snippet failed: \(r.stderr)") }
}

/// The second SeaweedFS identity (Read and List only), whose rights bucket policies narrow.
struct ReaderCredentials {
  let access: String
  let secret: String
  static func fromEnvironment() throws -> ReaderCredentials {
    let env = ProcessInfo.processInfo.environment
    guard let a = env["BD_S3_READER_ACCESS_KEY"], let s = env["BD_S3_READER_SECRET_KEY"] else {
      throw HarnessError(description: "BD_S3_READER_ACCESS_KEY is not set: run the suite with `make test`")
    }
    return ReaderCredentials(access: a, secret: s)
  }
}

@Suite("Field trial: permissions", .serialized)
struct PermissionTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  @Test(
    "A destination denied an operation by bucket policy: one message naming the permission, a few log lines, exit 2; --resume completes once it is granted",
    arguments: [("s3:GetObjectTagging", "GetObjectTagging"), ("s3:GetObject", "HeadObject")])
  func denied(permission: String, operation: String) throws {
    let reader = try ReaderCredentials.fromEnvironment()
    let s = uniqueBucket("deny-src")
    let d = uniqueBucket("deny-dst")
    let truth = try makePair(
      servers: servers, scenario: "ordered", sourceURL: servers.seaweed, destinationURL: servers.seaweed, sourceBucket: s,
      destinationBucket: d, extra: ["--bulk", "150"])
    let policy =
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/reader\"},\"Action\":\"\(permission)\",\"Resource\":\"arn:aws:s3:::\(d)/*\"}]}"
    try boto3Admin(servers, url: servers.seaweed, "c.put_bucket_policy(Bucket=a[0], Policy=a[1])", [d, policy])
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let args = [
      "--source_bucket_name", s, "--source_endpoint_url", servers.seaweed, "--source_access_key", servers.accessKey,
      "--source_secret_key", servers.secretKey, "--destination_bucket_name", d, "--destination_endpoint_url", servers.seaweed,
      "--destination_access_key", reader.access, "--destination_secret_key", reader.secret, "--output_file", out,
      "--shallow_check", "false", "--num_processes", "2", "--num_connections", "2", "--num_objects_report", "20",
    ]
    let r = try runProcess(try toolPath(), args, environment: env)
    #expect(r.status == 2, "\(r.stderr.suffix(2000))")
    let errors = r.stderr.split(separator: "\n").filter { $0.contains(" - ERROR] - ") }
    #expect(errors.count <= 8, "\(errors.count) ERROR lines:\n\(errors.joined(separator: "\n"))")
    #expect(r.stderr.components(separatedBy: "Deep check failed for key").count - 1 <= 3)
    let stop = try #require(errors.first { $0.contains("did not complete") }, "\(r.stderr.suffix(2000))")
    #expect(stop.contains("the destination credentials may not \(operation) in bucket '\(d)'"), "\(stop)")
    #expect(stop.contains("Grant \(permission) "), "\(stop)")
    #expect(stop.contains("--resume"))
    #expect(stop.contains("compare_object_tags: false") == (operation == "GetObjectTagging"), "\(stop)")
    #expect(!r.stderr.contains("lack s3:ListBucket/s3:GetObject"))
    let objects = r.stderr.components(separatedBy: "Total objects processed: ").last.flatMap { Int($0.prefix { $0.isNumber }) }
    #expect((objects ?? Int.max) < truth.objects / 2, "stopped early: \(objects ?? -1) of \(truth.objects)")

    try boto3Admin(servers, url: servers.seaweed, "c.delete_bucket_policy(Bucket=a[0])", [d])
    Thread.sleep(forTimeInterval: 1)  // SeaweedFS applies policy changes asynchronously
    let resumed = try runProcess(try toolPath(), args + ["--resume"], environment: env)
    #expect(resumed.status == (truth.text.isEmpty ? 0 : 1), "\(resumed.stderr.suffix(2000))")
    #expect(resumed.stderr.contains("Resuming from checkpoint"))
    #expect(try String(contentsOfFile: out, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
    #expect(resumed.stderr.contains("Total objects processed: \(truth.objects)"))
  }
}
