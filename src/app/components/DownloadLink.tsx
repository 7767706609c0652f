// Saves a file made in the page (a quantization result) to the user's disk
// through an object URL, released again when the link goes away.

import { useEffect, useState } from 'react';
import { humanBytes } from '../format';

export function DownloadLink({ file }: { file: File }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const objectUrl = URL.createObjectURL(file);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [file]);
  return (
    <a className="button primary" href={url ?? undefined} download={file.name} title={`Save ${file.name} (${humanBytes(file.size)})`} data-testid="download-variant">
      Download
    </a>
  );
}
