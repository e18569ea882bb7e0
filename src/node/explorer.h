/* The explorer page every node serves (docs/explorer.md): one
 * self-contained HTML file, web/explorer.html, with its CSS and JavaScript
 * inline, built into the binary at build time (cmake/embed_file.cmake turns
 * it into the byte array below) and answered on GET / and GET /explorer.
 *
 * The page reads the node's JSON API (node/api.h, docs/api.md) from its own
 * origin and loads nothing from anywhere else; its Content-Security-Policy
 * says so to the browser: default-src 'self', with the page's one inline
 * <script> and one inline <style> allowed by their SHA-256 hashes (no
 * 'unsafe-inline', no inline event handlers or style attributes).
 *
 * Any node serves it beside its API by calling cc_explorer_handle first in
 * its request handler: the http node on its own port (node/http_node.c),
 * the cheese node on --api-port.
 *
 * Pure over the request: no state, no I/O; thread-safe. */
#ifndef CC_NODE_EXPLORER_H
#define CC_NODE_EXPLORER_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http_request.h"
#include "net/http_server.h"
#include "util/buf.h"

/* The page as built in (generated from web/explorer.html), followed by a
 * NUL; cc_explorer_html_len does not count the NUL. */
extern const unsigned char cc_explorer_html[];
extern const size_t cc_explorer_html_len;

/* True when req names the page: "/", "/explorer", "/explorer/" or
 * "/index.html", any query. */
bool cc_explorer_is_page(const cc_http_request *req);

/* When req names the page, answers it and returns true: GET gets the page
 * (text/html, with the Content-Security-Policy and no-cache headers), any
 * other method 405 in the API's error format. Otherwise returns false and
 * leaves resp alone, for the caller's other routes. */
bool cc_explorer_handle(const cc_http_request *req, cc_http_response *resp);

/* Appends the page's Content-Security-Policy value (without the header
 * name): default-src 'self' plus the hashes of its inline script and style. */
void cc_explorer_csp(cc_buf *out);

#endif
