// The runtime's limit: a bare `Bun.serve` that answers every request with the same 200-byte JSON, no routing, no
// token, no database. bench/run.ts reports every endpoint against it as well as against the floor (floor.ts).
// Not part of the product.
//
//   PORT=… bun bench/bare.ts
const body = JSON.stringify({
  code: 200,
  message: '任务完成',
  data: { task_id: 'task_0123456789abcdef0123', status: 'completed', created_at: '2026-12-02T10:00:00Z', result_url: '/generated_outputs/x.png', review_status: 'approved' },
}); // 208 bytes in UTF-8
const headers = { 'content-type': 'application/json' };
Bun.serve({
  port: Number(process.env.PORT ?? 3998),
  hostname: '127.0.0.1',
  fetch: () => new Response(body, { headers }),
});
