#include "common/redis_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace warden {

namespace {

bool IsIpAddress(const std::string& host) {
  in6_addr v6;
  in_addr v4;
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace

std::string RedisTls::ErrorText() {
  unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

SslCtxPtr RedisTls::NewContext(const RedisDeployment::Tls& tls, std::string* why) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    *why = "cannot create a TLS context: " + ErrorText();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // The module writes from hiredis's output buffer, which may move between two tries of one
  // write (more commands appended), and takes what a partial write took.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1) {
      *why = "cannot read the CA file (tls_ca) " + tls.ca_file + ": " + ErrorText();
      return nullptr;
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    *why = "cannot load the system's trust store: " + ErrorText();
    return nullptr;
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
      *why = "cannot read the client certificate (tls_cert) " + tls.cert_file + ": " + ErrorText();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      *why = "cannot use the client key (tls_key) " + tls.key_file + ": " + ErrorText();
      return nullptr;
    }
  }
  return ctx;
}

SslPtr RedisTls::NewSession(SSL_CTX* context, int fd, const std::string& name, std::string* why) {
  ERR_clear_error();
  SslPtr ssl(SSL_new(context));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
    *why = "cannot set up TLS: " + ErrorText();
    return nullptr;
  }
  if (IsIpAddress(name)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str()) != 1) {
      *why = "bad IP address to check: " + name;
      return nullptr;
    }
  } else {
    SSL_set_tlsext_host_name(ssl.get(), name.c_str());
    if (SSL_set1_host(ssl.get(), name.c_str()) != 1) {
      *why = "bad server name to check: " + name;
      return nullptr;
    }
  }
  return ssl;
}

const std::string& RedisTls::NameToCheck(const RedisDeployment::Tls& tls, const std::string& host) {
  return tls.server_name.empty() ? host : tls.server_name;
}

std::string RedisTls::HandshakeFailure(SSL* ssl, int ssl_error) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    std::string hint =
        verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
            ? " (check tls_server_name)"
            : " (check tls_ca)";
    return std::string("the server's certificate was not accepted: ") +
           X509_verify_cert_error_string(verify) + hint;
  }
  std::string text = ErrorText();
  if (text.empty() && ssl_error == SSL_ERROR_SYSCALL) text = "the server closed the connection";
  return "handshake failed: " + text + " (is it a TLS port? does it want a client certificate?)";
}

}  // namespace warden
