//! Command tokens: 8 bits, one per command, never 0 (kernel `cmd_alloc_ent`'s token counter).

/// Hands out tokens 1, 2, ..., 255, 1, ...
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    last: u8,
}

impl Tokens {
    /// The next token.
    pub fn next_token(&mut self) -> u8 {
        self.last = match self.last.wrapping_add(1) {
            0 => 1,
            t => t,
        };
        self.last
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_zero() {
        let mut t = super::Tokens::default();
        let mut v = [0u8; 600];
        for x in v.iter_mut() {
            *x = t.next_token();
        }
        assert!(v.iter().all(|&x| x != 0));
        assert_eq!(v[0], 1);
        assert_eq!(v[255], 1);
    }
}
