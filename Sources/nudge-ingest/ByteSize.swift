import ArgumentParser

/// A size on the command line: bytes, or a number with K, M, G or T (binary units,
/// with or without `iB`/`B`): `512M`, `2G`, `1.5GiB`.
struct ByteSize: ExpressibleByArgument {
    var bytes: Int

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        var number = Substring(text)
        var scale = 1.0
        for suffix in ["IB", "B"] where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            break
        }
        if let unit = number.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(unit)] {
            number = number.dropLast()
            for _ in 0..<power { scale *= 1024 }
        }
        guard let value = Double(number), value >= 0, value * scale < Double(Int.max / 2) else { return nil }
        bytes = Int(value * scale)
    }
}
