// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "nudge-ingest",
    products: [
        .executable(name: "nudge-ingest", targets: ["nudge-ingest"]),
        .library(name: "NudgeIngest", targets: ["NudgeIngest", "NudgeSpool", "NudgeSystem", "NudgeCore"]),
    ],
    // HTTP (on by default): the network side, replay's transport over async-http-client
    // and SwiftNIO, and S3's request signing with swift-crypto. CI's sanitizer builds turn
    // it off (`--disable-default-traits`) so that they compile the tool's own code, not
    // SwiftNIO and BoringSSL twice more (docs/hardening.md).
    traits: [
        .trait(name: "HTTP", description: "replay's HTTP transport and S3 signing (async-http-client, SwiftNIO, swift-crypto)"),
        .default(enabledTraits: ["HTTP"]),
    ],
    dependencies: [
        // `--help` that teaches, subcommands and typed validation.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // replay's HTTP client: a connection pool with keep-alive, HTTP/2 over TLS when the
        // server offers it, and connection failures reported at once (README, "Replaying").
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Named for its NIOCore and NIOHTTP1 products, which the transport spells out
        // (async-http-client brings it anyway).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Named for its error types (replay tells a failed TLS handshake from a fault
        // worth retrying); async-http-client brings and builds it anyway.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // SHA-256 and HMAC-SHA256 for AWS Signature V4 (reading archives from S3), with
        // the HTTP trait. async-http-client already builds it, through swift-certificates.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // `serve`'s HTTP server, with the HTTP trait. Its own traits (swift-configuration,
        // full Foundation) are left off: nothing here uses them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        // The modules, bottom up; each may use only those above it:
        //   NudgeCore    bytes, framing, JSON scanning, the contract's rules, encoding: no I/O,
        //                no threads; of C only libc's byte search (testable on bytes alone)
        //   NudgeSystem  the one module that imports C (zlib, ISA-L, Linux shims): inflaters,
        //                threads and locks, the background writer, the clock
        //   NudgeS3      S3's conventions: SigV4, AWS credentials and config, listings
        //   NudgeSpool   the spool on disk: ledger, state file, spool files, lock, readers
        //   NudgeIngest  the operations: run (reading, the parallel record stage), replay,
        //                audit, preview, redrive
        //   NudgeRendering  what people read: tables, progress lines, HTML
        // See docs/architecture.md.
        // libc's memchr, alone, for the core's framer (see its header).
        .target(name: "CBytes"),
        .target(name: "NudgeCore", dependencies: ["CBytes"]),
        // zlib from the system (Debian: zlib1g-dev). Only NudgeSystem imports it.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // ISA-L's igzip inflate, optional: shims that compile to "unavailable" without
        // ISA-L's headers (Debian: libisal-dev) and load libisal.so.2 with dlopen at run
        // time, so the tool builds and runs without it (zlib is the fallback). Only
        // NudgeSystem imports it.
        .target(name: "CIsal"),
        // Linux calls Swift's Glibc module leaves out (sync_file_range), as prefixed shims.
        .target(name: "CLinux"),
        .target(
            name: "NudgeSystem",
            dependencies: ["NudgeCore", "CZlib", "CIsal", "CLinux"]
        ),
        // S3 the AWS way: Signature V4, credentials and region from the environment and
        // the shared files, s3:// locations, ListObjectsV2's answers. No HTTP here.
        .target(
            name: "NudgeS3",
            dependencies: [
                "NudgeCore",
                "NudgeSystem",
                .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["HTTP"])),
            ]
        ),
        .target(
            name: "NudgeSpool",
            dependencies: ["NudgeCore", "NudgeSystem"]
        ),
        .target(
            name: "NudgeIngest",
            dependencies: ["NudgeCore", "NudgeSystem", "NudgeSpool"]
        ),
        // Text tables, progress lines and HTML for people, made from the operations'
        // values; used by the command line and `serve`.
        .target(
            name: "NudgeRendering",
            dependencies: ["NudgeCore", "NudgeSystem", "NudgeSpool", "NudgeIngest"]
        ),
        // replay's transport: sends the requests the ReplayMachine forms over
        // async-http-client. Kept out of NudgeIngest so the library (and its fuzz
        // targets) builds without SwiftNIO.
        .target(
            name: "NudgeReplayHTTP",
            dependencies: [
                "NudgeCore",
                "NudgeSystem",
                "NudgeIngest",
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                // Their errors tell an endpoint that cannot be reached (refused, no such host,
                // a failed TLS handshake) from a fault worth retrying.
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["HTTP"])),
                // The API key's fingerprint (SHA-256) that names a replay's destination.
                .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // S3 over async-http-client: listing and streaming reads that resume, signed
        // (with the HTTP trait, like replay's transport), and `run`'s source of s3://
        // inputs over it.
        .target(
            name: "NudgeS3HTTP",
            dependencies: [
                "NudgeCore",
                "NudgeSystem",
                "NudgeS3",
                "NudgeIngest",
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // `serve`: the audit as an authenticated HTTP API over Hummingbird, and the API
        // keys it checks (with the HTTP trait).
        .target(
            name: "NudgeServe",
            dependencies: [
                "NudgeCore",
                "NudgeSystem",
                "NudgeSpool",
                "NudgeIngest",
                "NudgeRendering",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HTTP"])),
                // NIOThreadPool: the blocking spool reads run there, off the serving threads.
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // The thin command line over the library.
        .executableTarget(
            name: "nudge-ingest",
            dependencies: [
                "NudgeCore",
                "NudgeSystem",
                "NudgeSpool",
                "NudgeIngest",
                "NudgeRendering",
                "NudgeReplayHTTP",
                "NudgeS3",
                "NudgeS3HTTP",
                "NudgeServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Measures the identity state's size and save/load times at scale (docs/spool.md).
        .executableTarget(
            name: "state-benchmark",
            dependencies: ["NudgeCore", "NudgeSpool"],
            path: "Benchmarks/StateBenchmark"
        ),
        // The message-id state at scale: checks a second, memory and disk an id (docs/performance.md).
        .executableTarget(
            name: "message-id-benchmark",
            dependencies: ["NudgeCore", "NudgeSpool"],
            path: "Benchmarks/MessageIDBenchmark"
        ),
        // Single-core inflate throughput of each backend (zlib, ISA-L) on one gzip file.
        .executableTarget(
            name: "inflate-benchmark",
            dependencies: ["NudgeSystem", "NudgeSpool", "NudgeIngest"],
            path: "Benchmarks/InflateBenchmark"
        ),
        // The tests mirror the modules: each test target sees its own module and those below
        // it, so a test of the core cannot reach the spool (ArchitectureTests checks it).
        // What they share (temporary directories, running programs, the fixtures in
        // Tests/Fixtures, the in-memory record stage) is NudgeTestSupport.
        .target(
            name: "NudgeTestSupport",
            dependencies: ["NudgeCore"],
            path: "Tests/NudgeTestSupport"
        ),
        .testTarget(name: "NudgeCoreTests", dependencies: ["NudgeCore", "NudgeTestSupport"]),
        .testTarget(name: "NudgeSystemTests", dependencies: ["NudgeSystem", "NudgeTestSupport"]),
        .testTarget(name: "NudgeS3Tests", dependencies: ["NudgeS3", "NudgeTestSupport"]),
        // Against a real S3-compatible server on loopback: moto, started by the tests.
        .testTarget(name: "NudgeS3HTTPTests", dependencies: ["NudgeS3HTTP", "NudgeTestSupport"]),
        .testTarget(name: "NudgeSpoolTests", dependencies: ["NudgeSpool", "NudgeTestSupport"]),
        .testTarget(name: "NudgeIngestTests", dependencies: ["NudgeIngest", "NudgeTestSupport"]),
        .testTarget(name: "NudgeRenderingTests", dependencies: ["NudgeRendering", "NudgeTestSupport"]),
        // replay's transport against the fake Nudge (scripts/fake_nudge.py) on loopback.
        .testTarget(name: "NudgeReplayHTTPTests", dependencies: ["NudgeReplayHTTP", "NudgeTestSupport"]),
        // serve's keys and routes, against its router served by Hummingbird on loopback.
        .testTarget(
            name: "NudgeServeTests",
            dependencies: [
                "NudgeServe",
                "NudgeTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // End to end: the built `nudge-ingest` binary on real files, a real loopback HTTP
        // server, real signals; and the architecture's own checks.
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["NudgeIngest", "nudge-ingest", "NudgeTestSupport"]
        ),
    ]
)
