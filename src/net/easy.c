/* easy.c - the options every libcurl easy handle of the project carries. */
#include "net/easy.h"

#include "net/http.h"

int net_easy_defaults(CURL *h, char *errbuf, curl_write_callback write_cb)
{
    if (curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, HTTP_USER_AGENT) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK)
        return -1;
#if LIBCURL_VERSION_NUM >= 0x075500
    return curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK ? 0 : -1;
#else
    return curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK ? 0 : -1;
#endif
}
