// The whole window is a drop target. While files are dragged over it an overlay
// says so; dropping hands the files (and walked folders) to the store.

import { useEffect, useState } from 'react';
import { filesFromDataTransfer } from '../dropped-files';
import { usePlayground } from '../store';

const carriesFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;

export function DropOverlay() {
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    // dragenter/dragleave fire for every child element crossed; count them to know when the drag leaves the window.
    let depth = 0;
    const onEnter = (e: DragEvent) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      depth++;
      setDragging(true);
    };
    const onOver = (e: DragEvent) => {
      if (!carriesFiles(e)) return;
      // Without preventDefault on dragover the browser refuses the drop (and would open the file instead).
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const onLeave = (e: DragEvent) => {
      if (!carriesFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onDrop = (e: DragEvent) => {
      if (!e.dataTransfer || !carriesFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setDragging(false);
      const collecting = filesFromDataTransfer(e.dataTransfer);
      void collecting.then(({ files, skipped }) => usePlayground.getState().openFiles(files, skipped));
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragover', onOver);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, []);

  if (!dragging) return null;
  return (
    <div className="drop-overlay" data-testid="drop-overlay">
      <div className="drop-message">
        <strong>Drop to inspect</strong>
        <span>GGUF files, or safetensors with their config.json and tokenizer files — or a whole model folder</span>
      </div>
    </div>
  );
}
