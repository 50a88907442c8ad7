//! Reading structured choices out of the fuzzer's bytes.

/// A cursor over the input that never fails: past the end it yields zeros, so every input
/// decodes to some sequence of choices and a longer input only adds to it.
pub(crate) struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub(crate) fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// Up to `max` bytes, the count read first.
    pub(crate) fn slice(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u16()).min(max).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zeros_past_the_end_and_slices_only_what_is_there() {
        let mut b = Bytes::new(&[0x01, 0x02, 0, 9, 7, 7]);
        assert_eq!(b.u16(), 0x0102);
        assert_eq!(b.slice(100), &[7, 7]);
        assert!(b.is_empty());
        assert_eq!(b.u16(), 0);
        assert!(!b.bool());
    }
}
