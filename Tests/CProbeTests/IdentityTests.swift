// The keyed identities probes carry (CProbe/identity.c): SipHash-2-4 against its published
// vectors, the documented derivation, and 10,000 successive identities as the engine draws
// them, tested for anything an observer could use to predict the next one.
import CProbe
import TestSupport
import Testing

@Suite("Probe identities (identity.c)")
struct IdentityTests {
    /// Reference key 00 01 .. 0f, message 00 01 .. (len-1): SipHash-2-4 outputs from the
    /// SipHash paper's reference implementation (vectors.h, as little-endian words).
    @Test("SipHash-2-4 matches the reference vectors", arguments: [
        (0, 0x726f_db47_dd0e_0e31 as UInt64), (1, 0x74f8_39c5_93dc_67fd), (7, 0xab02_00f5_8b01_d137),
        (8, 0x93f5_f579_9a93_2462), (15, 0xa129_ca61_49be_45e5),
    ])
    func siphashVectors(length: Int, expected: UInt64) {
        let key = [UInt8](0..<16)
        let msg = [UInt8](0..<UInt8(length))
        let h = key.withUnsafeBufferPointer { k in msg.withUnsafeBytes { cprobe_siphash24(k.baseAddress, $0.baseAddress, length) } }
        #expect(h == expected)
    }

    @Test("an identity is SipHash-2-4 of counter | slot | kind, split as documented")
    func derivationIsTheDocumentedOne() {
        let key: [UInt8] = (0..<16).map { UInt8($0 * 7 + 3) }
        let counter: UInt64 = 0x0102_0304_0506_0708, slot: UInt32 = 0xA_BCDE
        let id = identity(key, counter, slot, kind: UInt8(CPROBE_KIND_TCP_SYN))
        var msg = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { msg[i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        for i in 0..<4 { msg[8 + i] = UInt8(truncatingIfNeeded: slot >> (8 * UInt32(i))) }
        msg[12] = UInt8(CPROBE_KIND_TCP_SYN)
        let h = key.withUnsafeBufferPointer { k in msg.withUnsafeBytes { cprobe_siphash24(k.baseAddress, $0.baseAddress, 16) } }
        #expect(id.token == UInt32(truncatingIfNeeded: h))
        #expect(id.nonce == UInt32(truncatingIfNeeded: h >> 32))
        #expect(UInt64(id.port_offset) == (h >> 32) & 0x3ff)
    }

    @Test("echo identifiers, tokens, nonces, ISNs and ports: no repeats beyond chance, balanced bits")
    func noRepeatsAndBalancedBits() {
        let d = Draws(count: 10_000)
        // Collisions among n values spread over m: pairwise-independent indicators, so the count
        // has mean and variance ~ C(n,2)/m. Six standard deviations either way.
        let pairs = Double(d.count * (d.count - 1) / 2)
        for (name, values, bits) in [("echo token", d.echoTokens, 32), ("nonce", d.nonces, 32), ("ISN", d.isns, 32),
                                     ("echo identifier", d.echoTokens.map { $0 >> 16 }, 16),
                                     ("echo sequence", d.echoTokens.map { $0 & 0xffff }, 16),
                                     ("TCP port offset", d.portOffsets, 10)] {
            let lambda = pairs / Double(1 << bits)
            let c = Double(collisions(values))
            #expect(abs(c - lambda) <= max(6 * lambda.squareRoot(), 2.5), "\(name): \(c) repeated pairs, chance gives \(lambda)")
            // Bit balance: Binomial(n, 1/2) per bit, sd 50 at n = 10,000; six sd.
            for bit in 0..<bits {
                let ones = values.reduce(0) { $0 + Int(($1 >> UInt32(bit)) & 1) }
                #expect(abs(ones - d.count / 2) <= 300, "\(name) bit \(bit): \(ones) ones of \(d.count)")
            }
        }
    }

    @Test("no linear relation between successive values (GF(2), mod 2^32, constant steps)")
    func noLinearRelation() {
        let d = Draws(count: 10_000)
        for (name, values) in [("echo token", d.echoTokens), ("nonce", d.nonces), ("ISN", d.isns)] {
            #expect(windowRank(values) == 97, "\(name): three successive values satisfy a GF(2)-affine relation")
            #expect(affinePredictions(values) <= 2, "\(name): x[n+1] = a·x[n] + c mod 2^32 predicts it")
            let steps = zip(values.dropFirst(), values).map { $0 &- $1 }
            #expect(collisions(steps) <= 3, "\(name): successive differences repeat")
        }
        // The checks catch what they claim to: a counter, an LCG, the linear core of xorshift.
        let counter = (0..<10_000).map { UInt32(0x4000_0000 + $0) }
        #expect(collisions(zip(counter.dropFirst(), counter).map { $0 &- $1 }) > 1000)
        var lcg: UInt32 = 12345
        let lcgValues = (0..<10_000).map { _ in lcg = lcg &* 1_664_525 &+ 1_013_904_223; return lcg }
        #expect(affinePredictions(lcgValues) > 9000)
        var xs = XorShift64Star(state: 0x9E37_79B9_7F4A_7C15)
        let linear = (0..<10_000).map { _ in UInt32(truncatingIfNeeded: xs.nextLinear()) }
        #expect(windowRank(linear) < 97)
    }

    @Test("the xorshift64* state recovery that broke the former nonces fails on these")
    func xorshiftStateRecoveryFails() {
        // Control: against xorshift64* itself, three 32-bit outputs give the state, and the
        // state every later output.
        var hits = 0, seeds = SeededRandom(seed: 0xC0FFEE)
        for _ in 0..<200 {
            var g = XorShift64Star(state: seeds.next() | 1)
            let o = (0..<4).map { _ in UInt32(truncatingIfNeeded: g.next()) }
            if XorShift64Star.predictFourth(o[0], o[1], o[2]) == o[3] { hits += 1 }
        }
        #expect(hits == 200, "the recovery itself works: \(hits) of 200")
        let d = Draws(count: 10_000)
        for (name, values) in [("nonce", d.nonces), ("echo token", d.echoTokens), ("ISN", d.isns)] {
            var explained = 0, predicted = 0
            for n in 0..<(values.count - 3) {
                guard let next = XorShift64Star.predictFourth(values[n], values[n + 1], values[n + 2]) else { continue }
                explained += 1
                if next == values[n + 3] { predicted += 1 }
            }
            // 96 equations in 64 unknowns: random values fit some state with probability 2^-32.
            #expect(explained <= 2, "\(name): \(explained) windows fit an xorshift64* state")
            #expect(predicted <= 2, "\(name): \(predicted) of \(values.count - 3) predicted")
        }
    }
}

// MARK: - What the engine draws

func identity(_ key: [UInt8], _ counter: UInt64, _ slot: UInt32, kind: UInt8) -> cprobe_identity {
    var out = cprobe_identity()
    key.withUnsafeBufferPointer { cprobe_identity_derive($0.baseAddress, counter, slot, kind, &out) }
    return out
}

/// Successive identities under one fresh random key, as an engine makes them: one send per
/// counter value, slots reused LIFO from a small table (the most regular inputs an engine
/// sees), ICMP and TCP probes interleaved.
struct Draws {
    var count: Int
    var echoTokens: [UInt32] = [], nonces: [UInt32] = [], isns: [UInt32] = [], portOffsets: [UInt32] = []

    init(count: Int) {
        self.count = count
        var rng = SystemRandomNumberGenerator()
        let key = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var counter: UInt64 = 0
        for i in 0..<count {
            let echo = identity(key, counter, UInt32(i % 64), kind: UInt8(CPROBE_KIND_ICMP))
            let syn = identity(key, counter + 1, UInt32(i % 64 + 64), kind: UInt8(CPROBE_KIND_TCP_SYN))
            counter += 2
            echoTokens.append(echo.token)
            nonces.append(echo.nonce)
            isns.append(syn.token)
            portOffsets.append(UInt32(syn.port_offset))
        }
    }
}

// MARK: - Statistics

/// Pairs of equal values.
func collisions(_ values: [UInt32]) -> Int {
    var seen: [UInt32: Int] = [:]
    for v in values { seen[v, default: 0] += 1 }
    return seen.values.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
}

/// GF(2) rank of the rows [x[n] | x[n+1] | x[n+2] | 1] (97 columns). Full rank means no
/// affine relation over GF(2) links three successive values, which any generator whose
/// outputs are linear in a state of up to 96 bits (LFSRs, xorshift without its multiply) has.
func windowRank(_ x: [UInt32]) -> Int {
    var basis: [Int: (lo: UInt64, hi: UInt64)] = [:] // by pivot (lowest set bit); lo = x[n] | x[n+1] << 32
    for n in 0..<(x.count - 2) {
        var lo = UInt64(x[n]) | UInt64(x[n + 1]) << 32, hi = UInt64(x[n + 2]) | 1 << 32
        while lo != 0 || hi != 0 {
            let pivot = lo != 0 ? lo.trailingZeroBitCount : 64 + hi.trailingZeroBitCount
            guard let b = basis[pivot] else { basis[pivot] = (lo, hi); break }
            lo ^= b.lo
            hi ^= b.hi
        }
        if basis.count == 97 { break }
    }
    return basis.count
}

/// How often x[n+3] = a·x[n+2] + c (mod 2^32), with a and c fitted to x[n..n+2].
func affinePredictions(_ x: [UInt32]) -> Int {
    var hits = 0
    for n in 0..<(x.count - 3) {
        let d0 = x[n + 1] &- x[n], d1 = x[n + 2] &- x[n + 1]
        guard d0 & 1 == 1 else { continue } // a is only determined when d0 is invertible
        let a = d1 &* inverse(d0)
        let c = x[n + 1] &- a &* x[n]
        if a &* x[n + 2] &+ c == x[n + 3] { hits += 1 }
    }
    return hits
}

/// Multiplicative inverse of an odd value mod 2^32 (Newton's iteration).
func inverse(_ a: UInt32) -> UInt32 {
    var x = a
    for _ in 0..<5 { x = x &* (2 &- a &* x) }
    return x
}

// MARK: - The generator the engine used before, and the attack on it

/// xorshift64* as the engine used it for nonces and ISN bits: state -> 64-bit output.
struct XorShift64Star {
    static let multiplier: UInt64 = 2_685_821_657_736_338_717
    var state: UInt64

    /// The state update, linear over GF(2).
    static func step(_ s: UInt64) -> UInt64 {
        var x = s
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        return x
    }

    mutating func next() -> UInt64 {
        state = Self.step(state)
        return state &* Self.multiplier
    }

    /// The state's low half without the multiplier: a linear generator, for the rank control.
    mutating func nextLinear() -> UInt64 {
        state = Self.step(state)
        return state
    }

    /// Given three successive 32-bit outputs (low halves of state·M), the fourth. The low 32
    /// bits of a product depend only on the low 32 bits of its factors, and M is odd, so each
    /// output gives the low half of its state; the state update is linear over GF(2), so the
    /// low halves of three successive states are 96 linear equations in the first state's 64
    /// bits (two outputs leave 2 bits open, four candidates; the third settles them). Solve,
    /// step, multiply. Returns nil when no state fits the three outputs.
    static func predictFourth(_ o1: UInt32, _ o2: UInt32, _ o3: UInt32) -> UInt32? {
        let mInv = inverse(UInt32(truncatingIfNeeded: multiplier))
        let lows = [o1, o2, o3].map { $0 &* mInv }
        // Equation e (0..<96) is bit e % 32 of low half e / 32; its right-hand side:
        func rhs(_ combo: Combo) -> UInt64 {
            var parity = 0
            for k in 0..<3 { parity += (UInt32(truncatingIfNeeded: combo[k]) & lows[k]).nonzeroBitCount }
            return UInt64(parity & 1)
        }
        let solver = Self.solver
        for check in solver.checks where rhs(check) != 0 { return nil } // contradiction: no state fits
        var s0: UInt64 = 0 // the state before the first output
        for (bit, combo) in solver.solution where rhs(combo) == 1 { s0 |= 1 << UInt64(bit) }
        return UInt32(truncatingIfNeeded: step(step(step(step(s0)))) &* multiplier)
    }

    /// Which equations (32 bits per output) XOR into a value.
    typealias Combo = [UInt64]

    /// Gauss-Jordan elimination of the 96 equations, done once: the equations do not depend on
    /// the outputs, only their right-hand sides do, so it records for each state bit, and for
    /// each equation that reduced to 0 = rhs, which equations' right-hand sides sum to it.
    static let solver: (solution: [(bit: Int, combo: Combo)], checks: [Combo]) = {
        var columns = (0..<64).map { UInt64(1) << UInt64($0) } // bit j of the state, after k steps
        var rows: [(mask: UInt64, combo: Combo)] = []
        for k in 0..<3 {
            columns = columns.map(step)
            for i in 0..<32 {
                var mask: UInt64 = 0
                for j in 0..<64 where (columns[j] >> UInt64(i)) & 1 == 1 { mask |= 1 << UInt64(j) }
                var combo: Combo = [0, 0, 0]
                combo[k] = 1 << UInt64(i)
                rows.append((mask, combo))
            }
        }
        func xor(_ a: Combo, _ b: Combo) -> Combo { zip(a, b).map { $0 ^ $1 } }
        var pivots: [(bit: Int, row: (mask: UInt64, combo: Combo))] = [], checks: [Combo] = []
        for var r in rows {
            for p in pivots where (r.mask >> UInt64(p.bit)) & 1 == 1 { r = (r.mask ^ p.row.mask, xor(r.combo, p.row.combo)) }
            if r.mask == 0 { checks.append(r.combo); continue }
            let bit = r.mask.trailingZeroBitCount
            for k in pivots.indices where (pivots[k].row.mask >> UInt64(bit)) & 1 == 1 {
                pivots[k].row = (pivots[k].row.mask ^ r.mask, xor(pivots[k].row.combo, r.combo))
            }
            pivots.append((bit, r))
        }
        precondition(pivots.count == 64, "three outputs determine the state")
        return (pivots.map { ($0.bit, $0.row.combo) }, checks)
    }()
}
