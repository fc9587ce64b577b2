#pragma once

#include <openssl/ssl.h>

#include <string>

#include "common/c_ptr.h"
#include "common/redis_deployment.h"

namespace warden {

using SslCtxPtr = CPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = CPtr<SSL, SSL_free>;

// TLS to Redis, the same rules for the nginx module and the sidecar (each drives the handshake
// its own way: the sidecar blocks with poll, the module on nginx's events): TLS 1.2 or later;
// the server's certificate always verified, against tls_ca or else the system's trust store;
// the name checked is tls_server_name, else the host as configured (an IP address against the
// certificate's IP entries, a name with SNI); a client certificate when tls_cert/tls_key are
// given. Every message is one line that names the option to check, and none shows a secret.
class RedisTls {
 public:
  // A client context for `tls`, its files read now. Null with `why` when one cannot be used
  // ("cannot read the CA file (tls_ca) /path: ...").
  static SslCtxPtr NewContext(const RedisDeployment::Tls& tls, std::string* why);

  // A session on the connected socket `fd`, checking `name` (see NameToCheck). Null with `why`.
  static SslPtr NewSession(SSL_CTX* context, int fd, const std::string& name, std::string* why);

  // The name a server's certificate must carry: tls_server_name, else `host` as configured.
  static const std::string& NameToCheck(const RedisDeployment::Tls& tls, const std::string& host);

  // Why a handshake failed for good (SSL_get_error said `ssl_error`, neither WANT_READ nor
  // WANT_WRITE): "the server's certificate was not accepted: ... (check tls_ca)",
  // "handshake failed: ... (is it a TLS port? does it want a client certificate?)". Clears
  // OpenSSL's error queue.
  static std::string HandshakeFailure(SSL* ssl, int ssl_error);

  // The first error in OpenSSL's queue ("" if none); clears the queue.
  static std::string ErrorText();
};

}  // namespace warden
