/* easy.h - the options every libcurl easy handle of the project carries (model, GET and upload clients). */
#ifndef NET_EASY_H
#define NET_EASY_H

#include <curl/curl.h>

/* Sets on h: curl's error text into errbuf (CURL_ERROR_SIZE bytes, borrowed for the handle's life), no
 * signals (threads), the project's User-Agent, no redirects (a server must not send credentials
 * elsewhere), TCP keep-alive, http and https only, and write_cb as the body sink. Returns 0, or -1 when
 * libcurl refused an option. */
int net_easy_defaults(CURL *h, char *errbuf, curl_write_callback write_cb);

#endif
