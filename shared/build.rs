// refinery embeds the SQL files at compile time; a newly added migration must rebuild
// this crate, which cargo only knows when told to watch the folder.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
