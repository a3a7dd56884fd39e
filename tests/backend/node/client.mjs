// The official @microsoft/signalr client against a hub URL; one JSON line per thing seen,
// so tests/backend/test_signalr_node.py can follow it. Usage: node client.mjs HUB_URL
import * as signalR from "@microsoft/signalr";

const url = process.argv[2];
const say = (event, data) => process.stdout.write(JSON.stringify({ event, data }) + "\n");

const connection = new signalR.HubConnectionBuilder()
  .withUrl(url, { transport: signalR.HttpTransportType.WebSockets })
  // Fast retries for the test (the library default is 0, 2, 10, 30 s).
  .withAutomaticReconnect([0, 250, 500, 1000, 1000, 1000, 2000, 2000, 2000, 5000])
  .configureLogging(signalR.LogLevel.Warning)
  .build();

connection.on("anomalies", (payload) => say("anomalies", payload));
connection.on("market", (payload) => say("market", payload));
connection.onreconnecting((error) => say("reconnecting", String(error ?? "")));
connection.onreconnected(() => say("reconnected", null));
connection.onclose((error) => say("closed", String(error ?? "")));

try {
  await connection.start();
  say("connected", connection.connectionId);
} catch (error) {
  say("failed", String(error));
  process.exit(1);
}
process.on("SIGTERM", async () => {
  await connection.stop();
  process.exit(0);
});
