/// The few XML reads S3's answers need: the text of elements by name, entities decoded.
/// S3's answers are flat and machine-written; this is not a general XML parser.
enum XMLElements {
    /// The content of every `<name>…</name>` in `text`, in order.
    static func all(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let element = next(name, in: rest) {
            found.append(decodeEntities(element.content))
            rest = rest[element.end...]
        }
        return found
    }

    /// The content of the first `<name>…</name>` in `text`.
    static func first(_ name: String, in text: String) -> String? {
        next(name, in: text[...]).map { decodeEntities($0.content) }
    }

    private static func next(_ name: String, in text: Substring) -> (content: Substring, end: Substring.Index)? {
        var searchFrom = text.startIndex
        while let open = text[searchFrom...].firstRange(of: "<" + name) {
            // `<Key>` or `<Key attr="…">`, not `<KeyCount>`.
            guard let close = text[open.upperBound...].firstIndex(of: ">") else { return nil }
            let between = text[open.upperBound..<close]
            guard between.isEmpty || between.first == " " else { searchFrom = open.upperBound; continue }
            if between.last == "/" { return ("", text.index(after: close)) }
            let contentStart = text.index(after: close)
            guard let end = text[contentStart...].firstRange(of: "</" + name + ">") else { return nil }
            return (text[contentStart..<end.lowerBound], end.upperBound)
        }
        return nil
    }

    /// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` and numeric references.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                if let number, let scalar = Unicode.Scalar(number) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += rest[amp...semicolon]
                }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }
}
