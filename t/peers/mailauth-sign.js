#!/usr/bin/env node
// mailauth-sign.js: sign messages with mailauth (npm), for interop tests.
//
//   mailauth-sign.js -a ALGO -c HEADER/BODY -d DOMAIN -s SELECTOR -k KEY.pem
//                    [-l N] [-H h1:h2] -o OUTDIR FILE...
//
// Each FILE is signed and written, signature prepended, to OUTDIR/basename.
// -l N: mailauth's maxBodyLength (l= of at most N canonical body bytes).
// mailauth is loaded from contrib/node/node_modules (exit 77 when absent).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const top = path.resolve(__dirname, '..', '..');
let dkimSign;
try {
    ({ dkimSign } = require(path.join(top, 'contrib', 'node', 'node_modules', 'mailauth', 'lib', 'dkim', 'sign')));
} catch (e) {
    console.error('mailauth-sign: mailauth not installed: ' + e.message);
    process.exit(77);
}

function parseArgs(argv) {
    const o = { files: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (/^-[acdsklHo]$/.test(a)) {
            o[a.slice(1)] = argv[++i];
        } else {
            o.files.push(a);
        }
    }
    return o;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    if (!o.d || !o.s || !o.k || !o.o) {
        console.error('mailauth-sign: -d -s -k -o required');
        return 64;
    }
    const key = fs.readFileSync(o.k);
    let rc = 0;
    for (const f of o.files) {
        const msg = fs.readFileSync(f);
        const crlf = /^[^\n]*\r\n/.test(msg.toString('latin1'));
        const sd = {
            signingDomain: o.d,
            selector: o.s,
            privateKey: key,
            algorithm: o.a || 'rsa-sha256',
            canonicalization: o.c || 'relaxed/relaxed'
        };
        if (o.H) sd.headerList = o.H.split(':');
        if (o.l !== undefined) sd.maxBodyLength = Number(o.l);
        // the signature list is signatureData; top-level keys alone sign nothing
        const opts = { canonicalization: sd.canonicalization, algorithm: sd.algorithm, signatureData: [sd] };
        const res = await dkimSign(msg, opts);
        if (!res.signatures || (res.errors && res.errors.length)) {
            console.error('mailauth-sign: ' + f + ': ' + JSON.stringify(res.errors));
            rc = 1;
            continue;
        }
        let sig = res.signatures; // CRLF line ends
        if (!crlf) sig = sig.replace(/\r\n/g, '\n');
        fs.writeFileSync(path.join(o.o, path.basename(f)), Buffer.concat([Buffer.from(sig, 'latin1'), msg]));
    }
    return rc;
}

main().then(rc => process.exit(rc), e => {
    console.error('mailauth-sign: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
});
