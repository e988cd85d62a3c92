#!/usr/bin/env node
// mailauth-dmarc.js: DMARC verdicts of mailauth (npm) on messages, with
// SPF and DKIM computed by mailauth itself, every lookup sent to the
// test's DNS server through node's dns.Resolver.
//
//   mailauth-dmarc.js -p PORT [-S SERVER] -i IP -s SENDER -e HELO FILE...
//
// Prints one line per FILE: "FILE RESULT POLICY SPF DKIM" where RESULT is
// mailauth's dmarc result (pass, fail, none, temperror, permerror; "nofrom"
// when it found no single author domain), POLICY the evaluated policy it
// reports as policy.dmarc ("-" when none), SPF its spf result and DKIM its
// dkim results joined with ",".
//
// mailauth's authenticate() loads its BIMI and MTA-STS code too, which
// needs a newer node than Debian's; so this script chains its dkim, spf
// and dmarc modules the way authenticate() does (lib/mailauth.js): SPF on
// the MAIL FROM (postmaster@HELO when empty), DMARC over the SPF domain
// when SPF passed and the d= of every passing signature.  mailauth is
// loaded from contrib/node/node_modules (exit 77 when absent).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const dns = require('node:dns');

const lib = path.resolve(__dirname, '..', '..', 'contrib', 'node', 'node_modules', 'mailauth', 'lib');
let dkimVerify, spf, evaluateDmarc;
try {
    ({ dkimVerify } = require(path.join(lib, 'dkim', 'verify')));
    ({ spf } = require(path.join(lib, 'spf')));
    ({ evaluateDmarc } = require(path.join(lib, 'dmarc')));
} catch (e) {
    console.error('mailauth-dmarc: mailauth not installed: ' + e.message);
    process.exit(77);
}

function parseArgs(argv) {
    const o = { files: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (['-p', '-S', '-i', '-s', '-e'].includes(a)) o[a.slice(1)] = argv[++i];
        else o.files.push(a);
    }
    return o;
}

function makeResolver(server, port) {
    const r = new dns.promises.Resolver({ timeout: 3000, tries: 1 });
    r.setServers([`${server}:${port}`]);
    return async (name, rr) => (rr === 'TXT' ? r.resolveTxt(name) : r.resolve(name, rr));
}

async function judge(file, o, resolver) {
    const dkim = await dkimVerify(fs.readFileSync(file), { resolver });
    const spfResult = await spf({
        ip: o.i,
        sender: o.s || '',
        helo: o.e || '',
        mta: 'mx.test',
        resolver
    });
    let d = false;
    if (dkim.headerFrom) {
        ({ response: d } = await evaluateDmarc({
            headerFrom: dkim.headerFrom,
            fromFields: dkim.fromFields,
            spfDomains: [].concat((spfResult && spfResult.status.result === 'pass' && spfResult.domain) || []),
            dkimDomains: (dkim.results || [])
                .filter(r => r.status.result === 'pass')
                .map(r => ({ id: r.id, domain: r.signingDomain, underSized: r.status.underSized })),
            resolver
        }));
    }
    const result = d ? d.status.result : 'nofrom';
    const policy = (d && d.status.policy && d.status.policy.dmarc) || '-';
    const spfWord = (spfResult && spfResult.status && spfResult.status.result) || 'none';
    const dkimWords = (dkim.results || []).map(r => r.status.result).join(',') || 'none';
    return `${file} ${result} ${policy} ${spfWord} ${dkimWords}`;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    if (!o.p || !o.i) {
        console.error('mailauth-dmarc: -p PORT and -i IP required');
        return 64;
    }
    const resolver = makeResolver(o.S || '127.0.0.1', o.p);
    for (const f of o.files) {
        process.stdout.write((await judge(f, o, resolver)) + '\n');
    }
    return 0;
}

main().then(rc => process.exit(rc), e => {
    console.error('mailauth-dmarc: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
});
