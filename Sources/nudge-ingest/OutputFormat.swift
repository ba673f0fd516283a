import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

/// `--format`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}
