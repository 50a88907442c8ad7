// A booking system's webhook receiver for the Rust tests: it checks every delivery with the
// Standard Webhooks reference library (npm `standardwebhooks`), answers 204 to a good one
// and 400 to a bad one, and prints one JSON line per delivery. The first N deliveries get a
// 503 (to prove the retries).
//   node webhook-receiver.mjs <port> <whsec_...> [fail-first]
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const [port, secret, failFirst = '0'] = process.argv.slice(2);
const verifier = new Webhook(secret);
let failures = Number(failFirst);

http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; if (body.length > 65536) req.destroy(); });
  req.on('end', () => {
    const id = req.headers['webhook-id'];
    if (failures > 0) {
      failures -= 1;
      console.log(JSON.stringify({ id, refused: 503 }));
      res.writeHead(503).end();
      return;
    }
    try {
      const payload = verifier.verify(body, req.headers);
      console.log(JSON.stringify({ id, verified: true, payload }));
      res.writeHead(204).end();
    } catch (e) {
      console.log(JSON.stringify({ id, verified: false, error: String(e) }));
      res.writeHead(400).end();
    }
  });
}).listen(Number(port), '127.0.0.1', () => console.log(JSON.stringify({ listening: Number(port) })));
