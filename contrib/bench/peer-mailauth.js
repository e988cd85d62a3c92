#!/usr/bin/env node
// peer-mailauth.js PORT MBOX: verify every message of an mboxrd archive with
// mailauth in one process (split at "From " lines, ">From " unquoted), keys
// from the DNS server on 127.0.0.1:PORT through node's dns.Resolver, cached
// in-process as dkimverify caches its own.  One message at a time.
// Prints "messages=N pass=P fail=F bytes=B".  Exit 77 without mailauth.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dns = require('node:dns');

let dkimVerify;
try {
    ({ dkimVerify } = require(path.resolve(__dirname, '..', 'node', 'node_modules', 'mailauth', 'lib', 'dkim', 'verify')));
} catch (e) {
    console.error('peer-mailauth: mailauth not installed');
    process.exit(77);
}

async function main() {
    const [port, file] = process.argv.slice(2);
    const r = new dns.promises.Resolver({ timeout: 5000, tries: 2 });
    r.setServers([`127.0.0.1:${port}`]);
    const cache = new Map();
    const resolver = (name, rr) => {
        const k = rr + ' ' + name;
        if (!cache.has(k)) cache.set(k, rr === 'TXT' ? r.resolveTxt(name) : r.resolve(name, rr));
        return cache.get(k);
    };
    const data = fs.readFileSync(file);
    let n = 0, ok = 0, bad = 0, bytes = 0;
    // message boundaries: "From " at the start of the file or after "\n\n"
    const starts = [];
    if (data.slice(0, 5).toString('latin1') === 'From ') starts.push(0);
    let i = 0;
    const sep = Buffer.from('\n\nFrom ');
    while ((i = data.indexOf(sep, i)) !== -1) { starts.push(i + 2); i += 2; }
    for (let k = 0; k < starts.length; k++) {
        const s = data.indexOf(10, starts[k]) + 1;        // after the From_ line
        const e = k + 1 < starts.length ? starts[k + 1] - 1 : (data[data.length - 1] === 10 && data[data.length - 2] === 10 ? data.length - 1 : data.length);
        let msg = data.subarray(s, e).toString('latin1').replace(/^>(>*From )/gm, '$1');
        const buf = Buffer.from(msg, 'latin1');
        n++;
        bytes += buf.length;
        const res = await dkimVerify(buf, { resolver });
        const rs = res.results || [];
        const good = rs.length > 0 && rs.every(x => x.status && x.status.result === 'pass');
        if (good) ok++; else bad++;
    }
    console.log(`messages=${n} pass=${ok} fail=${bad} bytes=${bytes}`);
}
main().catch(e => { console.error('peer-mailauth: ' + (e.stack || e)); process.exit(1); });
