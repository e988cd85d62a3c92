#!/usr/bin/env node
// mailauth-verify.js: verify messages with mailauth (npm), keys from the
// test's DNS server through node's dns.Resolver.
//
//   mailauth-verify.js -p PORT [-S SERVER] FILE...
//
// Prints one line per FILE: "FILE v1 v2 ..." with one verdict per
// DKIM-Signature in header order (mailauth's words: pass, fail, neutral,
// policy, temperror, permerror, none; the comment after a colon when not
// pass).  mailauth is loaded from contrib/node/node_modules (exit 77 when
// absent).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const dns = require('node:dns');

const top = path.resolve(__dirname, '..', '..');
let dkimVerify;
try {
    ({ dkimVerify } = require(path.join(top, 'contrib', 'node', 'node_modules', 'mailauth', 'lib', 'dkim', 'verify')));
} catch (e) {
    console.error('mailauth-verify: mailauth not installed: ' + e.message);
    process.exit(77);
}

function parseArgs(argv) {
    const o = { files: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '-p' || a === '-S') o[a.slice(1)] = argv[++i];
        else o.files.push(a);
    }
    return o;
}

function makeResolver(server, port) {
    const r = new dns.promises.Resolver({ timeout: 5000, tries: 2 });
    r.setServers([`${server}:${port}`]);
    return async (name, rr) => {
        switch (rr) {
            case 'TXT':
                return r.resolveTxt(name);
            default:
                return r.resolve(name, rr);
        }
    };
}

function words(res) {
    const out = [];
    for (const r of res.results || []) {
        const st = r.status || {};
        let w = st.result || 'none';
        if (w !== 'pass' && st.comment) w += ':' + String(st.comment).replace(/\s+/g, '_');
        out.push(w);
    }
    return out.length ? out : ['none'];
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    if (!o.p) {
        console.error('mailauth-verify: -p PORT required');
        return 64;
    }
    const resolver = makeResolver(o.S || '127.0.0.1', o.p);
    for (const f of o.files) {
        const msg = fs.readFileSync(f);
        const res = await dkimVerify(msg, { resolver });
        process.stdout.write(f + ' ' + words(res).join(' ') + '\n');
    }
    return 0;
}

main().then(rc => process.exit(rc), e => {
    console.error('mailauth-verify: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
});
