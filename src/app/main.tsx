import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { usePlayground } from './store';
import './styles.css';

// The bundled demo model is inspected right away, so the page shows something before the user has a file.
void usePlayground.getState().openDemo();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
