/// Line and column (from 1) of a place in a config text that the parser gave no position for.
enum TextPosition {
    /// The position `characterOffset` Characters into `text`; past the end, the end.
    static func lineAndColumn(in text: String, characterOffset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for character in text.prefix(max(0, characterOffset)) {
            if character.isNewline { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    /// The error for bytes that are not UTF-8, at the first byte that breaks it.
    ///
    /// Columns count Unicode scalars, as libyaml's do, so the position matches an editor's.
    static func notUTF8(_ bytes: [UInt8], file: String) -> ConfigError {
        // The longest valid prefix, found by decoding scalar by scalar.
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var line = 1, column = 1, validBytes = 0
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                validBytes += UTF8.width(scalar)
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput, .error:
                break decoding
            }
        }
        let bad = validBytes < bytes.count ? bytes[validBytes] : 0
        let hex = String(bad, radix: 16, uppercase: true)
        return ConfigError(file: file, line: line, column: column,
                           message: "config is not UTF-8 text: byte 0x\(hex.count == 1 ? "0" + hex : hex) at byte offset \(validBytes) starts no valid character")
    }
}
