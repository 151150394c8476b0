//! Compiles the C baseline of the layout benchmark at -O2.

fn main() {
    println!("cargo:rerun-if-changed=c/hca_cap.c");
    cc::Build::new().file("c/hca_cap.c").opt_level(2).warnings(true).compile("hca_cap");
}
