//! `docs/interfaces.md`: the vendor's interfaces and what ccgw does with each, generated from the
//! interface table (a test keeps the committed file equal; `UPDATE_DOCS=1 cargo test -p ccgw-wire
//! --test docs` regenerates it).

use std::fmt::Write;

use crate::interface::{Build, Family, INTERFACES, Interface, Named, Status};

fn used(i: &Interface) -> bool {
    ["R1", "R2", "R3"].iter().any(|c| i.clients.split(' ').any(|x| x == *c))
}

fn path_with_query(i: &Interface) -> String {
    let mut p = i.path.to_owned();
    for (n, q) in i.query.iter().enumerate() {
        p.push(if n == 0 { '?' } else { '&' });
        p.push_str(q.0);
    }
    p
}

fn row(i: &Interface) -> String {
    let http: Vec<&str> = i.http.iter().map(|v| v.as_str()).collect();
    let name = match i.named {
        Named::Doc => format!("`{}`", i.log_name),
        Named::JsApi => format!("`{}` [J]", i.log_name),
        Named::Ccgw => format!("`{}` [ccgw]", i.log_name),
    };
    let js = match i.js {
        Some(js) if js.build == Build::Ja => format!("`{}.{}`", js.object, js.function),
        Some(js) => format!("`{}.{}` (JB)", js.object, js.function),
        None => "–".to_owned(),
    };
    let status = match i.status {
        Status::Served => "**yes**".to_owned(),
        Status::Stub(why) => format!("stub: {why}"),
        Status::NotYet(why) => format!("no: {why}"),
    };
    let clients = if i.clients.is_empty() { "–" } else { i.clients };
    format!(
        "| {} | `{}` | {} | {} | {} | {} | {} |\n",
        http.join(", "),
        path_with_query(i),
        name,
        js,
        i.summary.replace('|', "\\|"),
        clients,
        status
    )
}

/// The document.
pub fn markdown() -> String {
    let mut s = String::new();
    let count = |f: &dyn Fn(&Interface) -> bool| INTERFACES.iter().filter(|i| f(i)).count();
    let served = count(&|i| i.status == Status::Served);
    let stubs = count(&|i| matches!(i.status, Status::Stub(_)));
    let _ = write!(
        s,
        "# Interface coverage\n\n\
         <!-- Generated from `ccgw_wire::interface::INTERFACES`; do not edit. Regenerate with\n     \
         `UPDATE_DOCS=1 cargo test -p ccgw-wire --test docs`. -->\n\n\
         Every interface the vendor's agent gateway is known to have (the project's inventory of the vendor's \
         docs, its generated JS API builds JA and JB, and public clients R1–R5) and what ccgw does with it. \
         ccgw serves **{served}** of **{total}**, and answers **{stubs}** with a fixed documented answer (stub). \
         An interface marked *no* answers HTTP 404 `{{\"message\":\"interface not implemented\",\"retcode\":\"404\"}}` \
         (405 for another HTTP method); docs/compat.md has every choice where the vendor is silent. Paths are after \
         `https://host:8043/agentgateway/resource`; `{{agentid}}` is the signed-in caller. The OpenAPI document of \
         what ccgw serves is docs/openapi.json.\n\n\
         Log name: the vendor's \"Method Name in Logs\" from a doc page; [J] only the JS API function name is \
         known; [ccgw] no vendor name is known, ccgw chose it. It is what ccgw's access log and metrics carry. \
         JS API: `object.function` in the voice build JA; (JB) only in the multimedia build (object by family). \
         Clients: R1 browser agent bar, R2 Java web app on the vendor's Java demo helper, R3 Node.js middleware, \
         R4/R5 Java samples; (c)/(d) reachable only from a path no UI sends / defined but never called.\n\n",
        total = INTERFACES.len(),
    );
    s.push_str("| Family | Interfaces | Served | Used by R1–R3 | Used by R1–R3, not served |\n|---|---|---|---|---|\n");
    for f in Family::ALL {
        let of = |g: &dyn Fn(&Interface) -> bool| INTERFACES.iter().filter(|i| i.family == f && g(i)).count();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            f.name(),
            of(&|_| true),
            of(&|i| i.status == Status::Served),
            of(&used),
            of(&|i| used(i) && i.status != Status::Served),
        );
    }
    let _ = writeln!(
        s,
        "| **total** | **{}** | **{served}** | **{}** | **{}** |",
        INTERFACES.len(),
        count(&used),
        count(&|i| used(i) && i.status != Status::Served)
    );
    for f in Family::ALL {
        let _ = write!(
            s,
            "\n## {}\n\n| HTTP | Path | Log name | JS API | Purpose | Clients | ccgw |\n|---|---|---|---|---|---|---|\n",
            f.name()
        );
        for i in INTERFACES.iter().filter(|i| i.family == f) {
            s.push_str(&row(i));
        }
    }
    s
}
