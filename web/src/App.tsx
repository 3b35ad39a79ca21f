/** Dashboard shell. The live dashboard is not built yet (issue 4); until then this page says so. */
export function App() {
  return (
    <main
      style={{
        fontFamily: 'system-ui, sans-serif',
        padding: '2rem',
        background: '#111',
        color: '#eee',
        minHeight: '100vh',
      }}
    >
      <h1>ctscope</h1>
      <p>
        The live dashboard is not built yet. Use <code>ctscope analyze</code> for offline verdicts (see
        README).
      </p>
    </main>
  );
}
