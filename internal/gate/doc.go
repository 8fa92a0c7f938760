// Package gate is `singer gate`: an HTTP import API that accepts pushed
// data, validates it, and answers 2xx only once the central log
// (internal/natslog, a NATS JetStream stream per topic) has stored every
// message of the request.
//
// Two kinds of endpoints write into the same topics that tap-nats reads:
//
//   - the Stitch Import API v2 (POST /v2/import/batch, /v2/import/push,
//     /v2/import/validate, GET /v2/import/status), so existing clients
//     work by changing their base URL;
//   - POST /v1/topics/{topic} with newline-delimited Singer messages, so a
//     remote tap can push: tap-x | curl --data-binary @- .../v1/topics/shop.
//
// A request becomes log messages (a SCHEMA line followed by the RECORD
// lines of its table, split by size, then a STATE), each with an id made
// from the request's idempotency key, published one after the other and
// each only after the log acknowledged the one before: a retried request
// is dropped by the topic's duplicate window, message by message, and
// never lands out of order. See docs/singer-gate.md.
package gate
