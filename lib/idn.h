/* idn: internationalized domain names to the A-labels DNS needs (IDNA2008,
 * libidn2), as RFC 8616 asks of DKIM's d=, SPF and DMARC. */
#ifndef MXKIT_IDN_H
#define MXKIT_IDN_H

/* 1 when name holds a byte >= 0x80 (so it needs converting). */
int idn_is_unicode(const char *name);

/* name (UTF-8; labels may be U-labels, A-labels or ASCII) as A-labels, in a
 * malloc'd string; an all-ASCII name is copied as it is.  NULL with *why
 * (a static string from libidn2) when name is not a valid IDNA2008 name,
 * or NULL with *why "out of memory". */
char *idn_to_alabels(const char *name, const char **why);

#endif
