import Foundation

/// A real S3-compatible server on loopback for the tests: moto's (`pip install
/// 'moto[server]'`, which `.ci/run` installs), started on a free port and stopped when
/// this is released.
///
/// It checks Signature V4 for real: started with `INITIAL_NO_AUTH_ACTION_COUNT`, it lets
/// the setup's requests through unchecked (an IAM user with an access key, the bucket,
/// the objects), and from then on verifies every signature against that key's secret.
package final class MotoServer {
    package let port: Int
    /// The access key every later request must be signed with.
    package let accessKeyID: String
    package let secretAccessKey: String
    private let process: Process

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Whether moto's server, 5.2.6 or later, is installed here (earlier versions refuse
    /// correct signatures over a query with `%2F`). In CI (`CI` set) the tests that need
    /// it run whatever this says, so that a missing server fails them.
    package static let isInstalledOrRequired: Bool = {
        let check = "import moto.server, boto3, sys; sys.exit(tuple(map(int, moto.__version__.split('.')[:3])) < (5, 2, 6))"
        return (try? runProgram("/usr/bin/env", ["python3", "-c", check]))?.status == 0
            || ProcessInfo.processInfo.environment["CI"] != nil
    }()

    /// Starts a server holding `bucket` with `objects` (key → bytes).
    package init(bucket: String, objects: [String: [UInt8]]) throws {
        // The setup goes unsigned: moto's own signature check refuses some keys boto3
        // signs (with `+` or non-ASCII), which this client reads fine.
        let setupActions = 3 + 1 + objects.count
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("moto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var manifest: [[String]] = []
        for (index, (key, bytes)) in objects.enumerated() {
            let file = directory.appendingPathComponent("object-\(index)")
            try Data(bytes).write(to: file)
            manifest.append([key, file.path])
        }
        let manifestFile = directory.appendingPathComponent("manifest.json")
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestFile)

        var lastFailure = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
            var environment = ProcessInfo.processInfo.environment
            environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(setupActions)
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let result = try runProgram("/usr/bin/env", ["python3", "-c", Self.setup, "http://127.0.0.1:\(port)", bucket,
                                                          manifestFile.path])
            let fields = result.stdoutText.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if result.status == 0, fields.count == 2, process.isRunning {
                self.port = port
                self.process = process
                accessKeyID = fields[0]
                secretAccessKey = fields[1]
                return
            }
            lastFailure = result.stderr
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        throw MotoFailed(detail: lastFailure)
    }

    /// Waits for the server, makes the IAM user and its key, the bucket and the objects,
    /// and prints the key.
    private static let setup = """
        import boto3, json, sys, time, urllib.request
        url, bucket, manifest = sys.argv[1:4]
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1); break
            except Exception:
                time.sleep(0.05)
        def client(service):
            return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                                aws_access_key_id="setup", aws_secret_access_key="setup")
        iam = client("iam")
        iam.create_user(UserName="nudge")
        iam.put_user_policy(UserName="nudge", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="nudge")["AccessKey"]
        s3 = client("s3")
        s3.create_bucket(Bucket=bucket)
        for name, path in json.load(open(manifest)):
            s3.put_object(Bucket=bucket, Key=name, Body=open(path, "rb").read())
        print(key["AccessKeyId"], key["SecretAccessKey"])
        """

    /// Puts `bytes` as `key` of `bucket`, signed with the server's key (a new version:
    /// another ETag).
    package func put(bucket: String, key: String, bytes: [UInt8]) throws {
        let script = """
            import boto3, sys
            url, key_id, secret, bucket, key = sys.argv[1:6]
            s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id=key_id, aws_secret_access_key=secret)
            s3.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
            """
        let result = try runProgram("/usr/bin/env", ["python3", "-c", script, endpoint, accessKeyID, secretAccessKey,
                                                     bucket, key], stdin: Data(bytes))
        guard result.status == 0 else { throw MotoFailed(detail: result.stderr) }
    }

    deinit {
        // moto's server does not stop on SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

package struct MotoFailed: Error, CustomStringConvertible {
    package var detail: String
    package var description: String { "moto: \(detail)" }
}

/// A TCP proxy on loopback in front of a server, for the failures a network makes:
/// `cut:N` forwards answers only up to N bytes a connection, until one connection has
/// been cut there (a connection dropped mid-object: small answers, a listing, pass);
/// `cuteach:N` cuts every answer longer than N bytes there (a network that keeps
/// dropping); `slowdown:K` answers the first K requests itself with S3's 503 SlowDown.
/// Every other connection passes through untouched.
package final class LoopbackProxy {
    package let port: Int
    private let process: Process

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    package init(upstreamPort: Int, mode: String) throws {
        let script = """
            import socket, sys, threading
            upstream, mode = int(sys.argv[1]), sys.argv[2]
            kind, amount = mode.split(":"); amount = int(amount)
            server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", 0)); server.listen(16)
            print(server.getsockname()[1], flush=True)
            cut_done = threading.Event()
            def pump(source, target, limit=None):
                sent = 0
                try:
                    while limit is None or (kind == "cut" and cut_done.is_set()) or sent < limit:
                        room = 65536 if limit is None or (kind == "cut" and cut_done.is_set()) else min(65536, limit - sent)
                        data = source.recv(room)
                        if not data: break
                        target.sendall(data); sent += len(data)
                    else:
                        cut_done.set()
                except OSError:
                    pass
                for s in (source, target):
                    try: s.shutdown(socket.SHUT_RDWR)
                    except OSError: pass
            count = 0
            while True:
                client, _ = server.accept(); count += 1
                if kind == "slowdown" and count <= amount:
                    client.recv(65536)
                    body = b"<?xml version='1.0'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                    client.sendall(b"HTTP/1.1 503 Slow Down\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(body) + body)
                    client.close(); continue
                up = socket.create_connection(("127.0.0.1", upstream))
                threading.Thread(target=pump, args=(client, up), daemon=True).start()
                threading.Thread(target=pump, args=(up, client, amount if kind in ("cut", "cuteach") else None), daemon=True).start()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(upstreamPort), mode]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line: [UInt8] = []
        while !line.contains(0x0A) {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += data
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw MotoFailed(detail: "the proxy did not start")
        }
        self.port = port
        self.process = process
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
