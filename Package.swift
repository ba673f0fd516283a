// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "nudge-ingest",
    products: [
        .executable(name: "nudge-ingest", targets: ["nudge-ingest"]),
        .library(name: "NudgeIngest", targets: ["NudgeIngest"]),
    ],
    dependencies: [
        // The only dependency: `--help` that teaches, subcommands and typed validation.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // zlib from the system (Debian: zlib1g-dev). Only NudgeIngest imports it.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The pipeline: reading → framing → scanning → deciding → writing.
        .target(
            name: "NudgeIngest",
            dependencies: ["CZlib"]
        ),
        // The thin command line over the library.
        .executableTarget(
            name: "nudge-ingest",
            dependencies: [
                "NudgeIngest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Measures the identity state's size and save/load times at scale (docs/spool.md).
        .executableTarget(
            name: "state-benchmark",
            dependencies: ["NudgeIngest"],
            path: "Benchmarks/StateBenchmark"
        ),
        // Unit tests of each stage, and end-to-end tests that run the built binary.
        .testTarget(
            name: "NudgeIngestTests",
            dependencies: ["NudgeIngest", "nudge-ingest"],
            exclude: ["Fixtures"]
        ),
    ]
)
