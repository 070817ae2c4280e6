//! Prints the OpenAPI document the `docs` function serves, so tools that lint it
//! (`scripts/check-openapi`) read exactly that, with no server or database to start.

fn main() {
    print!("{}", crm_functions::openapi::json());
}
