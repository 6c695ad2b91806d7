// Migrations are embedded at compile time; rebuild when any of them changes or is added.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
