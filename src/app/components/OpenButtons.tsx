// File dialogs: one for files (several at once), one for a whole folder such
// as a Hugging Face model directory.

import type { ChangeEvent } from 'react';
import { ACCEPT, filesFromList } from '../dropped-files';
import { usePlayground } from '../store';

export function OpenButtons() {
  const openFiles = usePlayground((s) => s.openFiles);
  const onChange = (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    if (!input.files) return;
    const { files, skipped } = filesFromList(input.files);
    // Clear the input so that choosing the same file again fires another change.
    input.value = '';
    void openFiles(files, skipped);
  };
  return (
    <div className="open-buttons">
      <label className="button primary">
        Open files…
        <input type="file" multiple accept={ACCEPT} onChange={onChange} data-testid="file-input" hidden />
      </label>
      <label className="button">
        Open folder…
        <input type="file" {...{ webkitdirectory: '' }} onChange={onChange} data-testid="folder-input" hidden />
      </label>
    </div>
  );
}
