//! The HPACK Huffman code (RFC 7541 §5.2 and Appendix B): encode and a
//! strict decode.
//!
//! The code is canonical: within one code length the codes are consecutive
//! numbers in symbol order, which the tables below check at compile time.
//! Decoding therefore needs no tree: with the next 32 bits of input aligned
//! to the left, the code length is the first length whose left-aligned limit
//! is above them (a handful of comparisons for the common 5- to 8-bit
//! symbols), and the symbol is an offset into the symbols sorted by code.
//! That canonical path serves the codes longer than 12 bits and the end of
//! a string; the rest is decoded two symbols per lookup of a table indexed
//! by the next 12 bits, four lookups per 8-byte refill of a 64-bit window.

use super::HpackError;

/// RFC 7541 Appendix B: `(code aligned to the least significant bit, length in bits)`
/// for each symbol 0..=255 and EOS (256), in symbol order. Each comment
/// repeats the RFC's row: the symbol and its code as bits, aligned to the
/// most significant bit.
#[rustfmt::skip]
pub(super) const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13), //     (  0)  |11111111|11000
    (0x7fffd8, 23), //     (  1)  |11111111|11111111|1011000
    (0xfffffe2, 28), //     (  2)  |11111111|11111111|11111110|0010
    (0xfffffe3, 28), //     (  3)  |11111111|11111111|11111110|0011
    (0xfffffe4, 28), //     (  4)  |11111111|11111111|11111110|0100
    (0xfffffe5, 28), //     (  5)  |11111111|11111111|11111110|0101
    (0xfffffe6, 28), //     (  6)  |11111111|11111111|11111110|0110
    (0xfffffe7, 28), //     (  7)  |11111111|11111111|11111110|0111
    (0xfffffe8, 28), //     (  8)  |11111111|11111111|11111110|1000
    (0xffffea, 24), //     (  9)  |11111111|11111111|11101010
    (0x3ffffffc, 30), //     ( 10)  |11111111|11111111|11111111|111100
    (0xfffffe9, 28), //     ( 11)  |11111111|11111111|11111110|1001
    (0xfffffea, 28), //     ( 12)  |11111111|11111111|11111110|1010
    (0x3ffffffd, 30), //     ( 13)  |11111111|11111111|11111111|111101
    (0xfffffeb, 28), //     ( 14)  |11111111|11111111|11111110|1011
    (0xfffffec, 28), //     ( 15)  |11111111|11111111|11111110|1100
    (0xfffffed, 28), //     ( 16)  |11111111|11111111|11111110|1101
    (0xfffffee, 28), //     ( 17)  |11111111|11111111|11111110|1110
    (0xfffffef, 28), //     ( 18)  |11111111|11111111|11111110|1111
    (0xffffff0, 28), //     ( 19)  |11111111|11111111|11111111|0000
    (0xffffff1, 28), //     ( 20)  |11111111|11111111|11111111|0001
    (0xffffff2, 28), //     ( 21)  |11111111|11111111|11111111|0010
    (0x3ffffffe, 30), //     ( 22)  |11111111|11111111|11111111|111110
    (0xffffff3, 28), //     ( 23)  |11111111|11111111|11111111|0011
    (0xffffff4, 28), //     ( 24)  |11111111|11111111|11111111|0100
    (0xffffff5, 28), //     ( 25)  |11111111|11111111|11111111|0101
    (0xffffff6, 28), //     ( 26)  |11111111|11111111|11111111|0110
    (0xffffff7, 28), //     ( 27)  |11111111|11111111|11111111|0111
    (0xffffff8, 28), //     ( 28)  |11111111|11111111|11111111|1000
    (0xffffff9, 28), //     ( 29)  |11111111|11111111|11111111|1001
    (0xffffffa, 28), //     ( 30)  |11111111|11111111|11111111|1010
    (0xffffffb, 28), //     ( 31)  |11111111|11111111|11111111|1011
    (0x14, 6), // ' ' ( 32)  |010100
    (0x3f8, 10), // '!' ( 33)  |11111110|00
    (0x3f9, 10), // '"' ( 34)  |11111110|01
    (0xffa, 12), // '#' ( 35)  |11111111|1010
    (0x1ff9, 13), // '$' ( 36)  |11111111|11001
    (0x15, 6), // '%' ( 37)  |010101
    (0xf8, 8), // '&' ( 38)  |11111000
    (0x7fa, 11), // ''' ( 39)  |11111111|010
    (0x3fa, 10), // '(' ( 40)  |11111110|10
    (0x3fb, 10), // ')' ( 41)  |11111110|11
    (0xf9, 8), // '*' ( 42)  |11111001
    (0x7fb, 11), // '+' ( 43)  |11111111|011
    (0xfa, 8), // ',' ( 44)  |11111010
    (0x16, 6), // '-' ( 45)  |010110
    (0x17, 6), // '.' ( 46)  |010111
    (0x18, 6), // '/' ( 47)  |011000
    (0x0, 5), // '0' ( 48)  |00000
    (0x1, 5), // '1' ( 49)  |00001
    (0x2, 5), // '2' ( 50)  |00010
    (0x19, 6), // '3' ( 51)  |011001
    (0x1a, 6), // '4' ( 52)  |011010
    (0x1b, 6), // '5' ( 53)  |011011
    (0x1c, 6), // '6' ( 54)  |011100
    (0x1d, 6), // '7' ( 55)  |011101
    (0x1e, 6), // '8' ( 56)  |011110
    (0x1f, 6), // '9' ( 57)  |011111
    (0x5c, 7), // ':' ( 58)  |1011100
    (0xfb, 8), // ';' ( 59)  |11111011
    (0x7ffc, 15), // '<' ( 60)  |11111111|1111100
    (0x20, 6), // '=' ( 61)  |100000
    (0xffb, 12), // '>' ( 62)  |11111111|1011
    (0x3fc, 10), // '?' ( 63)  |11111111|00
    (0x1ffa, 13), // '@' ( 64)  |11111111|11010
    (0x21, 6), // 'A' ( 65)  |100001
    (0x5d, 7), // 'B' ( 66)  |1011101
    (0x5e, 7), // 'C' ( 67)  |1011110
    (0x5f, 7), // 'D' ( 68)  |1011111
    (0x60, 7), // 'E' ( 69)  |1100000
    (0x61, 7), // 'F' ( 70)  |1100001
    (0x62, 7), // 'G' ( 71)  |1100010
    (0x63, 7), // 'H' ( 72)  |1100011
    (0x64, 7), // 'I' ( 73)  |1100100
    (0x65, 7), // 'J' ( 74)  |1100101
    (0x66, 7), // 'K' ( 75)  |1100110
    (0x67, 7), // 'L' ( 76)  |1100111
    (0x68, 7), // 'M' ( 77)  |1101000
    (0x69, 7), // 'N' ( 78)  |1101001
    (0x6a, 7), // 'O' ( 79)  |1101010
    (0x6b, 7), // 'P' ( 80)  |1101011
    (0x6c, 7), // 'Q' ( 81)  |1101100
    (0x6d, 7), // 'R' ( 82)  |1101101
    (0x6e, 7), // 'S' ( 83)  |1101110
    (0x6f, 7), // 'T' ( 84)  |1101111
    (0x70, 7), // 'U' ( 85)  |1110000
    (0x71, 7), // 'V' ( 86)  |1110001
    (0x72, 7), // 'W' ( 87)  |1110010
    (0xfc, 8), // 'X' ( 88)  |11111100
    (0x73, 7), // 'Y' ( 89)  |1110011
    (0xfd, 8), // 'Z' ( 90)  |11111101
    (0x1ffb, 13), // '[' ( 91)  |11111111|11011
    (0x7fff0, 19), // '\' ( 92)  |11111111|11111110|000
    (0x1ffc, 13), // ']' ( 93)  |11111111|11100
    (0x3ffc, 14), // '^' ( 94)  |11111111|111100
    (0x22, 6), // '_' ( 95)  |100010
    (0x7ffd, 15), // '`' ( 96)  |11111111|1111101
    (0x3, 5), // 'a' ( 97)  |00011
    (0x23, 6), // 'b' ( 98)  |100011
    (0x4, 5), // 'c' ( 99)  |00100
    (0x24, 6), // 'd' (100)  |100100
    (0x5, 5), // 'e' (101)  |00101
    (0x25, 6), // 'f' (102)  |100101
    (0x26, 6), // 'g' (103)  |100110
    (0x27, 6), // 'h' (104)  |100111
    (0x6, 5), // 'i' (105)  |00110
    (0x74, 7), // 'j' (106)  |1110100
    (0x75, 7), // 'k' (107)  |1110101
    (0x28, 6), // 'l' (108)  |101000
    (0x29, 6), // 'm' (109)  |101001
    (0x2a, 6), // 'n' (110)  |101010
    (0x7, 5), // 'o' (111)  |00111
    (0x2b, 6), // 'p' (112)  |101011
    (0x76, 7), // 'q' (113)  |1110110
    (0x2c, 6), // 'r' (114)  |101100
    (0x8, 5), // 's' (115)  |01000
    (0x9, 5), // 't' (116)  |01001
    (0x2d, 6), // 'u' (117)  |101101
    (0x77, 7), // 'v' (118)  |1110111
    (0x78, 7), // 'w' (119)  |1111000
    (0x79, 7), // 'x' (120)  |1111001
    (0x7a, 7), // 'y' (121)  |1111010
    (0x7b, 7), // 'z' (122)  |1111011
    (0x7ffe, 15), // '{' (123)  |11111111|1111110
    (0x7fc, 11), // '|' (124)  |11111111|100
    (0x3ffd, 14), // '}' (125)  |11111111|111101
    (0x1ffd, 13), // '~' (126)  |11111111|11101
    (0xffffffc, 28), //     (127)  |11111111|11111111|11111111|1100
    (0xfffe6, 20), //     (128)  |11111111|11111110|0110
    (0x3fffd2, 22), //     (129)  |11111111|11111111|010010
    (0xfffe7, 20), //     (130)  |11111111|11111110|0111
    (0xfffe8, 20), //     (131)  |11111111|11111110|1000
    (0x3fffd3, 22), //     (132)  |11111111|11111111|010011
    (0x3fffd4, 22), //     (133)  |11111111|11111111|010100
    (0x3fffd5, 22), //     (134)  |11111111|11111111|010101
    (0x7fffd9, 23), //     (135)  |11111111|11111111|1011001
    (0x3fffd6, 22), //     (136)  |11111111|11111111|010110
    (0x7fffda, 23), //     (137)  |11111111|11111111|1011010
    (0x7fffdb, 23), //     (138)  |11111111|11111111|1011011
    (0x7fffdc, 23), //     (139)  |11111111|11111111|1011100
    (0x7fffdd, 23), //     (140)  |11111111|11111111|1011101
    (0x7fffde, 23), //     (141)  |11111111|11111111|1011110
    (0xffffeb, 24), //     (142)  |11111111|11111111|11101011
    (0x7fffdf, 23), //     (143)  |11111111|11111111|1011111
    (0xffffec, 24), //     (144)  |11111111|11111111|11101100
    (0xffffed, 24), //     (145)  |11111111|11111111|11101101
    (0x3fffd7, 22), //     (146)  |11111111|11111111|010111
    (0x7fffe0, 23), //     (147)  |11111111|11111111|1100000
    (0xffffee, 24), //     (148)  |11111111|11111111|11101110
    (0x7fffe1, 23), //     (149)  |11111111|11111111|1100001
    (0x7fffe2, 23), //     (150)  |11111111|11111111|1100010
    (0x7fffe3, 23), //     (151)  |11111111|11111111|1100011
    (0x7fffe4, 23), //     (152)  |11111111|11111111|1100100
    (0x1fffdc, 21), //     (153)  |11111111|11111110|11100
    (0x3fffd8, 22), //     (154)  |11111111|11111111|011000
    (0x7fffe5, 23), //     (155)  |11111111|11111111|1100101
    (0x3fffd9, 22), //     (156)  |11111111|11111111|011001
    (0x7fffe6, 23), //     (157)  |11111111|11111111|1100110
    (0x7fffe7, 23), //     (158)  |11111111|11111111|1100111
    (0xffffef, 24), //     (159)  |11111111|11111111|11101111
    (0x3fffda, 22), //     (160)  |11111111|11111111|011010
    (0x1fffdd, 21), //     (161)  |11111111|11111110|11101
    (0xfffe9, 20), //     (162)  |11111111|11111110|1001
    (0x3fffdb, 22), //     (163)  |11111111|11111111|011011
    (0x3fffdc, 22), //     (164)  |11111111|11111111|011100
    (0x7fffe8, 23), //     (165)  |11111111|11111111|1101000
    (0x7fffe9, 23), //     (166)  |11111111|11111111|1101001
    (0x1fffde, 21), //     (167)  |11111111|11111110|11110
    (0x7fffea, 23), //     (168)  |11111111|11111111|1101010
    (0x3fffdd, 22), //     (169)  |11111111|11111111|011101
    (0x3fffde, 22), //     (170)  |11111111|11111111|011110
    (0xfffff0, 24), //     (171)  |11111111|11111111|11110000
    (0x1fffdf, 21), //     (172)  |11111111|11111110|11111
    (0x3fffdf, 22), //     (173)  |11111111|11111111|011111
    (0x7fffeb, 23), //     (174)  |11111111|11111111|1101011
    (0x7fffec, 23), //     (175)  |11111111|11111111|1101100
    (0x1fffe0, 21), //     (176)  |11111111|11111111|00000
    (0x1fffe1, 21), //     (177)  |11111111|11111111|00001
    (0x3fffe0, 22), //     (178)  |11111111|11111111|100000
    (0x1fffe2, 21), //     (179)  |11111111|11111111|00010
    (0x7fffed, 23), //     (180)  |11111111|11111111|1101101
    (0x3fffe1, 22), //     (181)  |11111111|11111111|100001
    (0x7fffee, 23), //     (182)  |11111111|11111111|1101110
    (0x7fffef, 23), //     (183)  |11111111|11111111|1101111
    (0xfffea, 20), //     (184)  |11111111|11111110|1010
    (0x3fffe2, 22), //     (185)  |11111111|11111111|100010
    (0x3fffe3, 22), //     (186)  |11111111|11111111|100011
    (0x3fffe4, 22), //     (187)  |11111111|11111111|100100
    (0x7ffff0, 23), //     (188)  |11111111|11111111|1110000
    (0x3fffe5, 22), //     (189)  |11111111|11111111|100101
    (0x3fffe6, 22), //     (190)  |11111111|11111111|100110
    (0x7ffff1, 23), //     (191)  |11111111|11111111|1110001
    (0x3ffffe0, 26), //     (192)  |11111111|11111111|11111000|00
    (0x3ffffe1, 26), //     (193)  |11111111|11111111|11111000|01
    (0xfffeb, 20), //     (194)  |11111111|11111110|1011
    (0x7fff1, 19), //     (195)  |11111111|11111110|001
    (0x3fffe7, 22), //     (196)  |11111111|11111111|100111
    (0x7ffff2, 23), //     (197)  |11111111|11111111|1110010
    (0x3fffe8, 22), //     (198)  |11111111|11111111|101000
    (0x1ffffec, 25), //     (199)  |11111111|11111111|11110110|0
    (0x3ffffe2, 26), //     (200)  |11111111|11111111|11111000|10
    (0x3ffffe3, 26), //     (201)  |11111111|11111111|11111000|11
    (0x3ffffe4, 26), //     (202)  |11111111|11111111|11111001|00
    (0x7ffffde, 27), //     (203)  |11111111|11111111|11111011|110
    (0x7ffffdf, 27), //     (204)  |11111111|11111111|11111011|111
    (0x3ffffe5, 26), //     (205)  |11111111|11111111|11111001|01
    (0xfffff1, 24), //     (206)  |11111111|11111111|11110001
    (0x1ffffed, 25), //     (207)  |11111111|11111111|11110110|1
    (0x7fff2, 19), //     (208)  |11111111|11111110|010
    (0x1fffe3, 21), //     (209)  |11111111|11111111|00011
    (0x3ffffe6, 26), //     (210)  |11111111|11111111|11111001|10
    (0x7ffffe0, 27), //     (211)  |11111111|11111111|11111100|000
    (0x7ffffe1, 27), //     (212)  |11111111|11111111|11111100|001
    (0x3ffffe7, 26), //     (213)  |11111111|11111111|11111001|11
    (0x7ffffe2, 27), //     (214)  |11111111|11111111|11111100|010
    (0xfffff2, 24), //     (215)  |11111111|11111111|11110010
    (0x1fffe4, 21), //     (216)  |11111111|11111111|00100
    (0x1fffe5, 21), //     (217)  |11111111|11111111|00101
    (0x3ffffe8, 26), //     (218)  |11111111|11111111|11111010|00
    (0x3ffffe9, 26), //     (219)  |11111111|11111111|11111010|01
    (0xffffffd, 28), //     (220)  |11111111|11111111|11111111|1101
    (0x7ffffe3, 27), //     (221)  |11111111|11111111|11111100|011
    (0x7ffffe4, 27), //     (222)  |11111111|11111111|11111100|100
    (0x7ffffe5, 27), //     (223)  |11111111|11111111|11111100|101
    (0xfffec, 20), //     (224)  |11111111|11111110|1100
    (0xfffff3, 24), //     (225)  |11111111|11111111|11110011
    (0xfffed, 20), //     (226)  |11111111|11111110|1101
    (0x1fffe6, 21), //     (227)  |11111111|11111111|00110
    (0x3fffe9, 22), //     (228)  |11111111|11111111|101001
    (0x1fffe7, 21), //     (229)  |11111111|11111111|00111
    (0x1fffe8, 21), //     (230)  |11111111|11111111|01000
    (0x7ffff3, 23), //     (231)  |11111111|11111111|1110011
    (0x3fffea, 22), //     (232)  |11111111|11111111|101010
    (0x3fffeb, 22), //     (233)  |11111111|11111111|101011
    (0x1ffffee, 25), //     (234)  |11111111|11111111|11110111|0
    (0x1ffffef, 25), //     (235)  |11111111|11111111|11110111|1
    (0xfffff4, 24), //     (236)  |11111111|11111111|11110100
    (0xfffff5, 24), //     (237)  |11111111|11111111|11110101
    (0x3ffffea, 26), //     (238)  |11111111|11111111|11111010|10
    (0x7ffff4, 23), //     (239)  |11111111|11111111|1110100
    (0x3ffffeb, 26), //     (240)  |11111111|11111111|11111010|11
    (0x7ffffe6, 27), //     (241)  |11111111|11111111|11111100|110
    (0x3ffffec, 26), //     (242)  |11111111|11111111|11111011|00
    (0x3ffffed, 26), //     (243)  |11111111|11111111|11111011|01
    (0x7ffffe7, 27), //     (244)  |11111111|11111111|11111100|111
    (0x7ffffe8, 27), //     (245)  |11111111|11111111|11111101|000
    (0x7ffffe9, 27), //     (246)  |11111111|11111111|11111101|001
    (0x7ffffea, 27), //     (247)  |11111111|11111111|11111101|010
    (0x7ffffeb, 27), //     (248)  |11111111|11111111|11111101|011
    (0xffffffe, 28), //     (249)  |11111111|11111111|11111111|1110
    (0x7ffffec, 27), //     (250)  |11111111|11111111|11111101|100
    (0x7ffffed, 27), //     (251)  |11111111|11111111|11111101|101
    (0x7ffffee, 27), //     (252)  |11111111|11111111|11111101|110
    (0x7ffffef, 27), //     (253)  |11111111|11111111|11111101|111
    (0x7fffff0, 27), //     (254)  |11111111|11111111|11111110|000
    (0x3ffffee, 26), //     (255)  |11111111|11111111|11111011|10
    (0x3fffffff, 30), // EOS (256)  |11111111|11111111|11111111|111111
];

/// The EOS symbol: never valid inside a string (RFC 7541 §5.2).
const EOS: u16 = 256;
/// The shortest and longest code lengths in the table, in bits.
const MIN_LEN: usize = 5;
const MAX_LEN: usize = 30;

/// The decoding tables derived from [`CODES`].
struct Tables {
    /// For each length, the smallest code of that length (LSB aligned).
    first_code: [u32; MAX_LEN + 1],
    /// For each length, one past the largest code of that length, aligned
    /// to the left of a 32-bit window (so a `u64` can hold 2^32).
    limit: [u64; MAX_LEN + 1],
    /// For each length, where its symbols start in `symbols`.
    offset: [usize; MAX_LEN + 1],
    /// Every symbol, sorted by code length then code.
    symbols: [u16; 257],
}

/// Builds [`Tables`] and checks that the code is canonical and complete;
/// a mistyped row fails the build.
const fn build_tables() -> Tables {
    let mut count = [0usize; MAX_LEN + 1];
    let mut first_code = [u32::MAX; MAX_LEN + 1];
    let mut last_code = [0u32; MAX_LEN + 1];
    let mut s = 0;
    while s < 257 {
        let (code, len) = CODES[s];
        let len = len as usize;
        assert!(len >= MIN_LEN && len <= MAX_LEN);
        assert!(code < (1u32 << len));
        if count[len] == 0 {
            first_code[len] = code;
        } else {
            // Consecutive codes, in symbol order, within a length.
            assert!(code == last_code[len] + 1);
        }
        last_code[len] = code;
        count[len] += 1;
        s += 1;
    }
    let mut offset = [0usize; MAX_LEN + 1];
    let mut limit = [0u64; MAX_LEN + 1];
    let mut next_offset = 0;
    // The canonical code of the next length continues the previous one:
    // `(last + 1) << 1`. Track it to check the code has no gaps.
    let mut next_code: u64 = 0;
    let mut len = 1;
    while len <= MAX_LEN {
        offset[len] = next_offset;
        next_offset += count[len];
        if count[len] > 0 {
            assert!(first_code[len] as u64 == next_code);
            next_code = first_code[len] as u64 + count[len] as u64;
        }
        limit[len] = next_code << (32 - len);
        next_code <<= 1;
        len += 1;
    }
    // Complete: the codes of length 30 end exactly at 2^30.
    assert!(next_code == 1u64 << 31);
    let mut symbols = [0u16; 257];
    let mut filled = [0usize; MAX_LEN + 1];
    let mut s = 0;
    while s < 257 {
        let len = CODES[s].1 as usize;
        symbols[offset[len] + filled[len]] = s as u16;
        filled[len] += 1;
        s += 1;
    }
    Tables {
        first_code,
        limit,
        offset,
        symbols,
    }
}

static TABLES: Tables = build_tables();

/// How many bits the fast path of [`decode`] looks up at once: 2^PEEK
/// four-byte entries (16 KiB), enough for two of the common 5- and 6-bit
/// codes (digits, lower-case letters, `-`, `/`, space) per lookup.
const PEEK: u32 = 12;

// The fields of an entry hold up to 15 bits; a round of lookups fits in the
// bits a refill leaves, and its symbols in one word.
const _: () = assert!(PEEK <= 15 && LOOKUPS * PEEK <= 56 && LOOKUPS * 2 <= 8);

/// How many lookups [`decode`] makes between refills: the 56 bits a refill
/// at least leaves cover this many of [`PEEK`] bits, and their up to two
/// symbols each fill one 64-bit word at most.
const LOOKUPS: u32 = if 56 / PEEK < 4 { 56 / PEEK } else { 4 };

/// By the next [`PEEK`] bits of input: the one or two whole symbols whose
/// codes those bits start with, packed as
/// `sym1 | sym2 << 8 | used << 16 | len1 << 20 | (8 * count) << 24`.
/// `count` is 1 or 2, `used` the length of its codes together (`sym2` is 0
/// when `count` is 1) and `len1` the first code's length; the entry is 0
/// when the first code is longer than [`PEEK`] bits. One lookup thus
/// decodes up to two symbols.
static MULTI: [u32; 1 << PEEK] = build_multi();

/// The fields of a [`MULTI`] entry.
const fn used_bits(entry: u32) -> u32 {
    (entry >> 16) & 0xf
}
const fn first_len(entry: u32) -> u32 {
    (entry >> 20) & 0xf
}

const fn build_multi() -> [u32; 1 << PEEK] {
    let mut table = [0u32; 1 << PEEK];
    // The first symbol: every entry that starts with a short code.
    let mut symbol = 0;
    while symbol < 256 {
        let (code, len) = CODES[symbol];
        let len = len as u32;
        if len <= PEEK {
            let shift = PEEK - len;
            let mut entry = code << shift;
            while entry < (code + 1) << shift {
                table[entry as usize] = symbol as u32 | len << 16 | len << 20 | 8 << 24;
                entry += 1;
            }
        }
        symbol += 1;
    }
    // The second symbol: the bits after the first, looked up the same way
    // (with zeros after them), count only when its whole code is there.
    let mut entry = 0;
    while entry < 1 << PEEK {
        let first = table[entry];
        let len1 = first_len(first);
        if len1 != 0 && len1 < PEEK {
            let rest = (entry << len1) & ((1 << PEEK) - 1);
            let second = table[rest];
            let len2 = first_len(second);
            if len2 != 0 && len1 + len2 <= PEEK {
                table[entry] = (first & 0xff)
                    | (second & 0xff) << 8
                    | (len1 + len2) << 16
                    | len1 << 20
                    | 16 << 24;
            }
        }
        entry += 1;
    }
    table
}

/// The length in bytes of `input` once Huffman-encoded, padding included.
pub(crate) fn encoded_len(input: &[u8]) -> usize {
    let bits: usize = input
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `input` to `out`, padded with the most
/// significant bits of EOS (all ones) to a whole byte.
pub(crate) fn encode(input: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    for &b in input {
        let (code, len) = CODES[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        nbits += u32::from(len);
        while nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
        }
        // Keep only the bits not yet written.
        acc &= (1u64 << nbits) - 1;
    }
    if nbits > 0 {
        let pad = 8 - nbits;
        out.push(((acc << pad) | ((1u64 << pad) - 1)) as u8);
    }
}

/// Decodes `input` into the start of `out`, and returns the decoded
/// length. `out` grows, if it must, to the room the longest decoding of
/// `input` needs, and keeps that length: the bytes after the decoded ones
/// are scratch, and a buffer reused for string after string is rarely
/// grown (or zeroed) again.
///
/// The input is read into a 64-bit window 8 bytes at a time (the last
/// bytes followed by ones, as padding is), and up to two symbols at a time
/// come from one lookup of the window's next [`PEEK`] bits ([`MULTI`]),
/// [`LOOKUPS`] lookups per refill, their symbols gathered in a word
/// written out at once. Longer codes, and the end of the input, take the
/// canonical path ([`decode_one`]).
///
/// # Errors
///
/// [`HpackError::InvalidHuffman`] when the input holds the EOS symbol, ends
/// in more than 7 bits of padding, or in padding that is not all ones
/// (RFC 7541 §5.2).
pub(crate) fn decode(input: &[u8], out: &mut Vec<u8>) -> Result<usize, HpackError> {
    // At most 8 symbols per 5 bits of input, and 8 bytes more: a round of
    // lookups always writes a whole word.
    let room = input.len() * 8 / 5 + 8;
    if out.len() < room {
        out.resize(room, 0);
    }
    decode_into(input, out)
}

/// The bits of a string not yet decoded, aligned to the left of `bits`:
/// `avail` of them are input, the rest is what is known to follow (more
/// input, or ones after the end), or zeros.
struct Window<'a> {
    bits: u64,
    avail: u32,
    /// The input not yet counted in `avail`.
    rest: &'a [u8],
}

impl Window<'_> {
    /// Tops the window up to 56 bits or more, or to the end of the input.
    fn refill(&mut self) {
        if let Some(word) = self.rest.first_chunk::<8>() {
            // The bits below `avail` are zeros or these same input bits.
            self.bits |= u64::from_be_bytes(*word) >> self.avail;
            let bytes = (63 - self.avail) / 8;
            self.avail += bytes * 8;
            self.rest = self.rest.get(bytes as usize..).unwrap_or_default();
        } else if !self.rest.is_empty() {
            // The last bytes (fewer than 8), then ones.
            let fit = ((63 - self.avail) / 8) as usize;
            let (now, later) = self.rest.split_at(fit.min(self.rest.len()));
            let mut word = 0u64;
            for &b in now {
                word = (word << 8) | u64::from(b);
            }
            let n = now.len() as u32 * 8;
            if n > 0 {
                let word = (word << (64 - n)) | (u64::MAX >> n);
                self.bits = (self.bits & !(u64::MAX >> self.avail)) | (word >> self.avail);
                self.avail += n;
            }
            self.rest = later;
        }
    }

    fn consume(&mut self, bits: u32) {
        self.bits <<= bits;
        self.avail -= bits;
    }
}

/// Decodes `input` into `dst`, which must hold `input.len() * 8 / 5 + 8`
/// bytes; returns how many it wrote.
fn decode_into(input: &[u8], dst: &mut [u8]) -> Result<usize, HpackError> {
    let mut w = Window {
        bits: 0,
        avail: 0,
        rest: input,
    };
    let mut len = 0;
    loop {
        w.refill();
        // Up to LOOKUPS lookups, while each finds whole short codes within
        // the input; their symbols go into `word`, `shift` bits filled.
        let mut word = 0u64;
        let mut shift = 0;
        let mut round = 0;
        while round < LOOKUPS {
            let entry = MULTI
                .get((w.bits >> (64 - PEEK)) as usize)
                .copied()
                .unwrap_or(0);
            let used = used_bits(entry);
            // 0 (a long code) wraps around: never within `avail`.
            if used.wrapping_sub(1) >= w.avail {
                break;
            }
            word |= u64::from(entry & 0xffff) << shift;
            shift += entry >> 24;
            w.consume(used);
            round += 1;
        }
        let out = dst
            .get_mut(len..)
            .and_then(<[u8]>::first_chunk_mut::<8>)
            .ok_or(HpackError::InvalidHuffman)?;
        *out = word.to_le_bytes();
        len += (shift / 8) as usize;
        if round == LOOKUPS {
            continue;
        }
        // A code longer than PEEK bits, or the end of the input: one
        // symbol, or the end, the canonical way.
        w.refill();
        // Up to 7 ones are padding, never a whole code (only EOS is all
        // ones): the end, as `decode_one` would find after a longer search.
        if w.avail <= 7 && w.bits.leading_ones() >= w.avail {
            return Ok(len);
        }
        let symbol = match first_short_code(&w) {
            Some(entry) => {
                w.consume(first_len(entry));
                entry as u8
            }
            None => match decode_one(w.bits, w.avail)? {
                Some((symbol, bits)) => {
                    w.consume(bits);
                    symbol
                }
                None => return Ok(len),
            },
        };
        let out = dst.get_mut(len).ok_or(HpackError::InvalidHuffman)?;
        *out = symbol;
        len += 1;
    }
}

/// The [`MULTI`] entry for the window when its first code is short and
/// within the input (the bits after the input looked up as ones).
fn first_short_code(w: &Window<'_>) -> Option<u32> {
    let ones = ((1u64 << PEEK) - 1) >> w.avail.min(PEEK);
    let entry = MULTI
        .get(((w.bits >> (64 - PEEK)) | ones) as usize)
        .copied()
        .unwrap_or(0);
    let len1 = first_len(entry);
    (len1 != 0 && len1 <= w.avail).then_some(entry)
}

/// Decodes the one symbol that starts the left-aligned `bits`, of which
/// `avail` (at least 1) are input, by its code length: the symbol and its
/// length, or `None` when what is left is valid padding (the end). What
/// follows the input in `bits` does not matter: each step of the length
/// search reads no further than the length it tries.
fn decode_one(bits: u64, avail: u32) -> Result<Option<(u8, u32)>, HpackError> {
    let tables = &TABLES;
    let window = (bits >> 32) as u32;
    let mut len = MIN_LEN;
    while len < MAX_LEN && u64::from(window) >= tables.limit[len] {
        len += 1;
    }
    if len as u32 > avail {
        // The input is exhausted: what is left must be padding.
        if avail <= 7 && bits.leading_ones() >= avail {
            return Ok(None);
        }
        return Err(HpackError::InvalidHuffman);
    }
    let code = window >> (32 - len);
    let index = tables.offset[len] + (code - tables.first_code[len]) as usize;
    let symbol = tables
        .symbols
        .get(index)
        .copied()
        .ok_or(HpackError::InvalidHuffman)?;
    if symbol == EOS {
        return Err(HpackError::InvalidHuffman);
    }
    Ok(Some((symbol as u8, len as u32)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::hex as hex_bytes;
    use super::*;

    fn decoded(input: &[u8]) -> Result<Vec<u8>, HpackError> {
        let mut out = Vec::new();
        let len = decode(input, &mut out)?;
        out.truncate(len);
        Ok(out)
    }

    /// The decoder before the table lookup: one symbol at a time by its
    /// code length. The reference the table-driven decoder must agree with.
    fn decoded_by_length(input: &[u8]) -> Result<Vec<u8>, HpackError> {
        let mut out = Vec::new();
        // The input's bits, left-aligned: a byte in whenever fewer than
        // 32 are there, zeros after the end.
        let mut bits: u64 = 0;
        let mut avail: u32 = 0;
        let mut bytes = input.iter();
        loop {
            while avail <= 56 {
                match bytes.next() {
                    Some(&b) => {
                        bits |= u64::from(b) << (56 - avail);
                        avail += 8;
                    }
                    None => break,
                }
            }
            if avail == 0 {
                return Ok(out);
            }
            match decode_one(bits, avail)? {
                Some((symbol, len)) => {
                    out.push(symbol);
                    bits <<= len;
                    avail -= len;
                }
                None => return Ok(out),
            }
        }
    }

    fn encoded(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(input, &mut out);
        assert_eq!(out.len(), encoded_len(input));
        out
    }

    /// Rows of RFC 7541 Appendix B checked against the RFC text as
    /// `(symbol, code as bits aligned to the MSB)`.
    #[test]
    fn table_rows_match_the_rfc() {
        let rows: &[(usize, &str)] = &[
            (0, "11111111|11000"),
            (10, "11111111|11111111|11111111|111100"),
            (32, "010100"),
            (47, "011000"),
            (48, "00000"),
            (97, "00011"),
            (122, "1111011"),
            (127, "11111111|11111111|11111111|1100"),
            (199, "11111111|11111111|11110110|0"),
            (255, "11111111|11111111|11111011|10"),
            (256, "11111111|11111111|11111111|111111"),
        ];
        for &(symbol, bits) in rows {
            let bits: String = bits.chars().filter(|&c| c != '|').collect();
            let (code, len) = CODES[symbol];
            assert_eq!(usize::from(len), bits.len(), "symbol {symbol}");
            assert_eq!(format!("{code:0width$b}", width = bits.len()), bits);
        }
        // Kraft's equality: the code is complete, as a canonical Huffman
        // code must be.
        let sum: u64 = CODES.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
        assert_eq!(sum, 1 << 30);
    }

    #[test]
    fn every_symbol_round_trips_alone_and_in_context() {
        for b in 0..=255u8 {
            let one = encoded(&[b]);
            assert_eq!(decoded(&one).unwrap(), [b], "symbol {b}");
            let three = [b'a', b, b'z'];
            assert_eq!(decoded(&encoded(&three)).unwrap(), three, "symbol {b}");
        }
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        assert_eq!(decoded(&encoded(&all)).unwrap(), all);
        assert_eq!(decoded(&[]).unwrap(), b"");
    }

    /// RFC 7541 Appendix C.4.1 and C.6.1.
    #[test]
    fn rfc_examples() {
        let cases: &[(&str, &str)] = &[
            ("f1e3c2e5f23a6ba0ab90f4ff", "www.example.com"),
            ("a8eb10649cbf", "no-cache"),
            ("25a849e95ba97d7f", "custom-key"),
            ("25a849e95bb8e8b4bf", "custom-value"),
            ("6402", "302"),
            ("aec3771a4b", "private"),
            (
                "d07abe941054d444a8200595040b8166e082a62d1bff",
                "Mon, 21 Oct 2013 20:13:21 GMT",
            ),
            (
                "9d29ad171863c78f0b97c8e9ae82ae43d3",
                "https://www.example.com",
            ),
        ];
        for (hex, text) in cases {
            let wire = hex_bytes(hex);
            assert_eq!(encoded(text.as_bytes()), wire, "{text}");
            assert_eq!(decoded(&wire).unwrap(), text.as_bytes());
        }
    }

    /// The lookup table against the canonical decoder: every 1- to 3-byte
    /// input, and random inputs (well-formed encodings of random text and
    /// random bytes, most of them invalid) of every length up to 64 bytes.
    #[test]
    fn table_decoder_agrees_with_canonical_decoder() {
        for a in 0..=255u8 {
            assert_eq!(decoded(&[a]), decoded_by_length(&[a]), "{a:02x}");
            for b in 0..=255u8 {
                let two = [a, b];
                assert_eq!(decoded(&two), decoded_by_length(&two), "{two:02x?}");
            }
        }
        for a in (0..=255u8).step_by(3) {
            for b in (0..=255u8).step_by(5) {
                for c in 0..=255u8 {
                    let three = [a, b, c];
                    assert_eq!(decoded(&three), decoded_by_length(&three), "{three:02x?}");
                }
            }
        }
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            let len = (next() % 65) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    // Mostly header-like text, sometimes any byte.
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        b' ' + ((r >> 8) % 95) as u8
                    }
                })
                .collect();
            let wire = encoded(&text);
            assert_eq!(decoded(&wire).as_deref(), Ok(&text[..]), "round {round}");
            assert_eq!(decoded_by_length(&wire).as_deref(), Ok(&text[..]));
            let noise: Vec<u8> = (0..len).map(|_| (next() >> 24) as u8).collect();
            assert_eq!(decoded(&noise), decoded_by_length(&noise), "{noise:02x?}");
        }
    }

    /// A xorshift64* generator from `seed` (not 0): deterministic, no
    /// dependency.
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// Longer strings than the 64-byte rounds above, so that codes of
    /// every length meet the 8-byte refills and the rounds of lookups at
    /// every bit offset: well-formed encodings of text mixing short and
    /// long codes, the same with one bit flipped (mostly invalid, or
    /// decoding to other text), and cut short anywhere.
    #[test]
    fn long_strings_agree_with_canonical_decoder() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for round in 0..3_000 {
            let len = (next() % 300) as usize;
            // From mostly short codes to mostly long ones.
            let long_share = next() % 5;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 5 < long_share {
                        (r >> 8) as u8
                    } else {
                        b"0123456789abcdefghijklmnopqrstuvwxyz-/:, ="[((r >> 8) % 42) as usize]
                    }
                })
                .collect();
            let wire = encoded(&text);
            assert_eq!(decoded(&wire).as_deref(), Ok(&text[..]), "round {round}");
            if wire.is_empty() {
                continue;
            }
            let mut flipped = wire.clone();
            let bit = (next() % (wire.len() as u64 * 8)) as usize;
            flipped[bit / 8] ^= 0x80 >> (bit % 8);
            assert_eq!(
                decoded(&flipped),
                decoded_by_length(&flipped),
                "round {round}"
            );
            let cut = &wire[..(next() % wire.len() as u64) as usize];
            assert_eq!(decoded(cut), decoded_by_length(cut), "round {round}");
        }
    }

    /// One buffer serves string after string: each decoding starts at
    /// its front, whatever an earlier (longer, or failed) one left there.
    #[test]
    fn reuses_the_buffer() {
        let mut out = Vec::new();
        let texts: [&[u8]; 4] = [
            b"Mon, 21 Oct 2013 20:13:21 GMT",
            b"",
            b"nginx",
            b"\x00\xff~",
        ];
        for text in texts {
            let len = decode(&encoded(text), &mut out).unwrap();
            assert_eq!(&out[..len], text);
            let mut bad = encoded(b"nginx/1.24.0");
            bad.push(0xff);
            assert_eq!(decode(&bad, &mut out), Err(HpackError::InvalidHuffman));
        }
        let grown = out.len();
        let len = decode(&encoded(b"text/html"), &mut out).unwrap();
        assert_eq!(&out[..len], b"text/html");
        assert_eq!(out.len(), grown, "no growth for a shorter string");
    }

    #[test]
    fn rejects_eos_long_padding_and_zero_padding() {
        // EOS alone (30 ones, padded): the decoder sees the EOS symbol.
        assert_eq!(
            decoded(&[0xff, 0xff, 0xff, 0xff]),
            Err(HpackError::InvalidHuffman)
        );
        // A full byte of ones after a symbol is padding longer than 7 bits.
        let mut long = encoded(b"a");
        long.push(0xff);
        assert_eq!(decoded(&long), Err(HpackError::InvalidHuffman));
        // 'a' is 00011: padding 000 is not the prefix of EOS.
        assert_eq!(decoded(&[0b0001_1000]), Err(HpackError::InvalidHuffman));
        // A lone byte of ones: 8 bits of padding.
        assert_eq!(decoded(&[0xff]), Err(HpackError::InvalidHuffman));
        // Seven ones after a 1-bit remainder is fine: '0' (00000) + 111.
        assert_eq!(decoded(&[0b0000_0111]).unwrap(), b"0");
    }
}
