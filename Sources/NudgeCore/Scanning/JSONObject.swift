/// The members of a JSON object read back (``JSONValue/object()``), with accessors
/// that name the member in the ``JSONReadError`` when it is missing or of another
/// kind. Members nobody asks for are ignored, so a newer writer's fields are tolerated.
package struct JSONObject: Sendable {
    private let members: [String: JSONValue]

    init(members: [String: JSONValue]) {
        self.members = members
    }

    /// The member `key`, or nil when there is none.
    package subscript(key: String) -> JSONValue? { members[key] }

    /// The member `key`, which must be there.
    package func value(_ key: String) throws(JSONReadError) -> JSONValue {
        guard let value = members[key] else { throw JSONReadError(member: key, .missing) }
        return value
    }

    package func string(_ key: String) throws(JSONReadError) -> String {
        try read(key) { (value) throws(JSONReadError) in try value.string() }
    }

    package func int(_ key: String) throws(JSONReadError) -> Int {
        try read(key) { (value) throws(JSONReadError) in try value.int() }
    }

    package func object(_ key: String) throws(JSONReadError) -> JSONObject {
        try read(key) { (value) throws(JSONReadError) in try value.object() }
    }

    package func array(_ key: String) throws(JSONReadError) -> [JSONValue] {
        try read(key) { (value) throws(JSONReadError) in try value.array() }
    }

    package func ints(_ key: String) throws(JSONReadError) -> [Int] {
        try read(key) { (value) throws(JSONReadError) in try value.ints() }
    }

    package func strings(_ key: String) throws(JSONReadError) -> [String] {
        try read(key) { (value) throws(JSONReadError) in try value.strings() }
    }

    /// The string member `key` read as a `T` (an enumeration of names, say).
    package func value<T: RawRepresentable<String>>(_ key: String, as type: T.Type) throws(JSONReadError) -> T {
        guard let value = T(rawValue: try string(key)) else { throw JSONReadError(member: key, .unknownValue) }
        return value
    }

    /// The string member `key`; nil when it is missing or null.
    package func optionalString(_ key: String) throws(JSONReadError) -> String? {
        try readIfPresent(key) { (value) throws(JSONReadError) in try value.string() }
    }

    /// The integer member `key`; nil when it is missing or null.
    package func optionalInt(_ key: String) throws(JSONReadError) -> Int? {
        try readIfPresent(key) { (value) throws(JSONReadError) in try value.int() }
    }

    /// Member `key` read with `body`; nil when it is missing or null.
    private func readIfPresent<T>(_ key: String, _ body: (JSONValue) throws(JSONReadError) -> T) throws(JSONReadError) -> T? {
        guard let value = members[key], !value.isNull else { return nil }
        return try read(key, body)
    }

    /// Reads member `key` with `body`, its error naming the member.
    private func read<T>(_ key: String, _ body: (JSONValue) throws(JSONReadError) -> T) throws(JSONReadError) -> T {
        do {
            return try body(try value(key))
        } catch {
            var named = error
            if named.member == nil { named.member = key }
            throw named
        }
    }
}
