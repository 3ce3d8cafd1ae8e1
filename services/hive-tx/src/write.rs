//! fc::raw primitives: little-endian integers, LEB128 varints, length-prefixed strings.

#[derive(Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, b: u8) {
        self.out.push(b);
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    /// Unsigned LEB128 ("varint32").
    pub(crate) fn varint(&mut self, mut v: u32) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }

    pub(crate) fn string(&mut self, s: &str) {
        self.varint(s.len() as u32);
        self.out.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        for (v, want) in [
            (0u32, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 1]),
            (300, vec![0xac, 2]),
        ] {
            let mut w = Writer::default();
            w.varint(v);
            assert_eq!(w.into_bytes(), want, "{v}");
        }
    }
}
