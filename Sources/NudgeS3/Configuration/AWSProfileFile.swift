import NudgeSystem

/// One of the AWS shared files: `[section]` headers, `name = value` settings, `#` and `;`
/// comments. In the config file a profile's section is `[profile NAME]` (or `[default]`);
/// in the credentials file it is `[NAME]`. Indented lines (a service's sub-settings) and
/// other sections (`[sso-session …]`, `[services …]`) are skipped.
struct AWSProfileFile {
    var profiles: [String: [String: String]] = [:]

    init(parsing bytes: [UInt8], isConfigFile: Bool) {
        var current: String?
        for rawLine in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if let first = rawLine.first, first == " " || first == "\t" { continue }
            let line = rawLine.trimmed
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { current = nil; continue }
                let name = String(line.dropFirst().dropLast()).trimmed
                if !isConfigFile {
                    current = name
                } else if name == "default" {
                    current = "default"
                } else if name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                    current = String(name.dropFirst("profile".count)).trimmed
                } else {
                    current = nil
                }
                if let current, profiles[current] == nil { profiles[current] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let name = String(line[..<equals]).trimmed.lowercased()
            var value = String(line[line.index(after: equals)...]).trimmed
            // An inline comment needs a space before its `#` or `;`.
            if let comment = value.firstRange(of: " #") ?? value.firstRange(of: " ;") { value = String(value[..<comment.lowerBound]).trimmed }
            if !value.isEmpty { profiles[current]![name] = value }
        }
    }
}
